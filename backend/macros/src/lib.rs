//! The compile-time half of `qmlbridge-backend`: `#[derive(Resource)]` turns a plain struct
//! into a resource schema (fields to columns, attributes to validation), and `migrations!()`
//! embeds an app's `migrations/NNNN_name.sql` files. Use them through `qmlbridge_backend`, which
//! re-exports both; the expansions name items of that crate only.

mod migrations;
mod resource;

use proc_macro::TokenStream;

/// Declares a struct as a resource of the resource convention (`docs/contract.md` §7).
///
/// ```ignore
/// #[derive(qmlbridge_backend::Resource)]
/// #[resource(name = "bookmarks")]          // URL segment and table (`table = ".."` to differ)
/// struct Bookmark {
///     id: i64,                              // the key: a field named `id`, or `#[resource(key)]`
///     #[resource(non_blank, max_chars = 200)]
///     title: String,
///     #[resource(filter, default)]          // `?done=true`; may be omitted on create
///     done: bool,
///     note: Option<String>,                 // nullable, may be omitted
///     #[resource(created_at)]
///     created_at: qmlbridge_backend::Datetime,
///     #[resource(updated_at)]
///     updated_at: qmlbridge_backend::Datetime,
/// }
/// ```
/// Field types: `String`, `i64`/`i32`, `f64`, `bool`, `Datetime`, and `Option` of those.
/// Field attributes: `key`, `created_at`, `updated_at`, `default` (the column has a SQL
/// default), `filter`, `non_blank`, `min_chars = N`, `max_chars = N`, `min = N`, `max = N`.
#[proc_macro_derive(Resource, attributes(resource))]
pub fn derive_resource(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    resource::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// The app's migrations, embedded: `migrations!()` reads `<crate>/migrations`,
/// `migrations!("path")` another directory relative to the crate. Each `NNNN_name.sql` file
/// (`NNNN` from 0001 up, without a gap or a repeat; `name` in `[a-z0-9_]`) becomes a
/// `qmlbridge_backend::Migration`, in order; any other `.sql` name, a gap or a duplicate number is
/// a compile error naming the file. Files that do not end in `.sql` are ignored.
///
/// Cargo rebuilds when an embedded file changes; for it to notice a *new* file, the crate's
/// `build.rs` says `println!("cargo::rerun-if-changed=migrations");`.
#[proc_macro]
pub fn migrations(input: TokenStream) -> TokenStream {
    migrations::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
