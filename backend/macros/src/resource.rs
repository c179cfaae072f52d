//! `#[derive(Resource)]`: a struct's fields and `#[resource(..)]` attributes, read at compile
//! time into a `qmlbridge_backend::Schema` constant. The SQL itself is the framework's (its
//! dialect builds the statements from the schema once, at start-up), so an app's resources do
//! not change when another store is added.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, PathArguments, Type};

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new(
            input.generics.span(),
            "a resource struct has no generic parameters",
        ));
    }
    let Data::Struct(data) = &input.data else {
        return Err(syn::Error::new(
            input.span(),
            "#[derive(Resource)] is for structs with named fields",
        ));
    };
    let Fields::Named(named) = &data.fields else {
        return Err(syn::Error::new(
            data.fields.span(),
            "#[derive(Resource)] is for structs with named fields",
        ));
    };
    let ident = &input.ident;
    let (mut name, mut table) = (None, None);
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("resource")) {
        attr.parse_nested_meta(|meta| {
            let value =
                || -> syn::Result<String> { Ok(meta.value()?.parse::<syn::LitStr>()?.value()) };
            if meta.path.is_ident("name") {
                name = Some(value()?);
            } else if meta.path.is_ident("table") {
                table = Some(value()?);
            } else {
                return Err(meta.error("expected `name = \"..\"` or `table = \"..\"`"));
            }
            Ok(())
        })?;
    }
    let name = name.unwrap_or_else(|| format!("{}s", snake(&ident.to_string())));
    let table = table.unwrap_or_else(|| name.replace('-', "_"));

    let mut fields = Vec::new();
    let mut keys = 0;
    for field in &named.named {
        let f = Field::read(field)?;
        keys += usize::from(f.key);
        fields.push(f);
    }
    if keys != 1 {
        return Err(syn::Error::new(
            named.span(),
            "a resource has exactly one key: a field `id: i64` or one marked #[resource(key)]",
        ));
    }
    let fields = fields.iter().map(Field::tokens);
    Ok(quote! {
        impl ::qmlbridge_backend::Resource for #ident {
            fn schema() -> &'static ::qmlbridge_backend::Schema {
                static SCHEMA: ::qmlbridge_backend::Schema =
                    ::qmlbridge_backend::Schema::new(#name, #table, &[ #(#fields),* ]);
                &SCHEMA
            }
        }
    })
}

/// `BookmarkTag` -> `bookmark_tag`.
fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

struct Field {
    name: String,
    kind: &'static str,
    optional: bool,
    key: bool,
    role: &'static str,
    default: bool,
    filter: bool,
    non_blank: bool,
    min_chars: Option<usize>,
    max_chars: Option<usize>,
    min: Option<f64>,
    max: Option<f64>,
}

impl Field {
    fn read(field: &syn::Field) -> syn::Result<Field> {
        let ident = field.ident.as_ref().expect("named field");
        let name = ident.to_string().trim_start_matches("r#").to_owned();
        let (kind, optional) = kind_of(&field.ty)?;
        let mut f = Field {
            key: name == "id",
            role: "Value",
            name,
            kind,
            optional,
            default: false,
            filter: false,
            non_blank: false,
            min_chars: None,
            max_chars: None,
            min: None,
            max: None,
        };
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("resource")) {
            attr.parse_nested_meta(|meta| {
                let p = &meta.path;
                let int = || -> syn::Result<usize> {
                    meta.value()?.parse::<syn::LitInt>()?.base10_parse()
                };
                let num = || -> syn::Result<f64> {
                    let lit: syn::Lit = meta.value()?.parse()?;
                    match lit {
                        syn::Lit::Int(i) => i.base10_parse(),
                        syn::Lit::Float(x) => x.base10_parse(),
                        other => Err(syn::Error::new(other.span(), "expected a number")),
                    }
                };
                if p.is_ident("key") {
                    f.key = true;
                } else if p.is_ident("created_at") {
                    f.role = "CreatedAt";
                } else if p.is_ident("updated_at") {
                    f.role = "UpdatedAt";
                } else if p.is_ident("default") {
                    f.default = true;
                } else if p.is_ident("filter") {
                    f.filter = true;
                } else if p.is_ident("non_blank") {
                    f.non_blank = true;
                } else if p.is_ident("min_chars") {
                    f.min_chars = Some(int()?);
                } else if p.is_ident("max_chars") {
                    f.max_chars = Some(int()?);
                } else if p.is_ident("min") {
                    f.min = Some(num()?);
                } else if p.is_ident("max") {
                    f.max = Some(num()?);
                } else {
                    return Err(meta.error(
                        "unknown resource attribute (key, created_at, updated_at, default, filter, \
                         non_blank, min_chars, max_chars, min, max)",
                    ));
                }
                Ok(())
            })?;
        }
        let span = field.span();
        if f.key && (f.kind != "Int" || f.optional) {
            return Err(syn::Error::new(span, "the key is an `i64`"));
        }
        if f.role != "Value" && (f.kind != "Datetime" || f.optional) {
            return Err(syn::Error::new(
                span,
                "created_at/updated_at fields are a `Datetime`",
            ));
        }
        let text = matches!(f.kind, "Text" | "Datetime");
        if (f.non_blank || f.min_chars.is_some() || f.max_chars.is_some()) && !text {
            return Err(syn::Error::new(
                span,
                "non_blank, min_chars and max_chars are for text fields",
            ));
        }
        if (f.min.is_some() || f.max.is_some()) && !matches!(f.kind, "Int" | "Real") {
            return Err(syn::Error::new(span, "min and max are for number fields"));
        }
        Ok(f)
    }

    fn tokens(&self) -> TokenStream {
        let Field { name, .. } = self;
        let kind = syn::Ident::new(self.kind, Span::call_site());
        let role = syn::Ident::new(if self.key { "Key" } else { self.role }, Span::call_site());
        let mut t = quote! {
            ::qmlbridge_backend::Field::new(#name, ::qmlbridge_backend::FieldKind::#kind)
                .role(::qmlbridge_backend::FieldRole::#role)
        };
        let flag = |on: bool, method: &str| {
            let m = syn::Ident::new(method, Span::call_site());
            if on {
                quote! { .#m() }
            } else {
                quote! {}
            }
        };
        t.extend(flag(self.optional, "optional"));
        t.extend(flag(self.default, "with_default"));
        t.extend(flag(self.filter, "filter"));
        t.extend(flag(self.non_blank, "non_blank"));
        if let Some(n) = self.min_chars {
            t.extend(quote! { .min_chars(#n) });
        }
        if let Some(n) = self.max_chars {
            t.extend(quote! { .max_chars(#n) });
        }
        if let Some(n) = self.min {
            t.extend(quote! { .min(#n) });
        }
        if let Some(n) = self.max {
            t.extend(quote! { .max(#n) });
        }
        t
    }
}

/// The field kind of a Rust type, and whether it is an `Option`.
fn kind_of(ty: &Type) -> syn::Result<(&'static str, bool)> {
    let unsupported = || {
        syn::Error::new(
            ty.span(),
            "unsupported resource field type: String, i64, i32, f64, bool, Datetime or an Option of one",
        )
    };
    let Type::Path(path) = ty else {
        return Err(unsupported());
    };
    let last = path.path.segments.last().ok_or_else(unsupported)?;
    if last.ident == "Option" {
        let PathArguments::AngleBracketed(args) = &last.arguments else {
            return Err(unsupported());
        };
        let Some(GenericArgument::Type(inner)) = args.args.first() else {
            return Err(unsupported());
        };
        let (kind, nested) = kind_of(inner)?;
        if nested {
            return Err(unsupported());
        }
        return Ok((kind, true));
    }
    let kind = match last.ident.to_string().as_str() {
        "String" => "Text",
        "i64" | "i32" => "Int",
        "f64" => "Real",
        "bool" => "Bool",
        "Datetime" => "Datetime",
        _ => return Err(unsupported()),
    };
    Ok((kind, false))
}
