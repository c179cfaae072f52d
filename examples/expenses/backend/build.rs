//! Rebuild when a migration is added (`qmlbridge_backend::migrations!()` embeds the files, but
//! cargo only notices a new one through this).
fn main() {
    println!("cargo::rerun-if-changed=migrations");
}
