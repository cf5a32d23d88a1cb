//! Template render: what a request's templates cost per request.
//!
//! Templates are compiled once at plan time (`Templates::add`). A string without `{{`/`{%`
//! becomes `Tmpl::Static` and rendering it is a clone; anything else is a MiniJinja template
//! rendered against the iteration's context (`Templates::context`, built once per iteration).
//! A signature header also sees the rendered body (`Templates::with_body`), and the raw
//! `hmac_sha256_hex` call is measured beside it to show the template's own overhead.
//! (The request build in `action/prepare.rs` is private to the crate, so it is not here.)
//!
//!   cargo bench --bench template_render

use criterion::{Criterion, criterion_group, criterion_main};
use soakd::plan::template::hmac_sha256_hex;
use soakd::plan::{Templates, Tmpl};
use std::collections::BTreeMap;
use std::hint::black_box;

const SECRET: &str = "whsec_5f1e2d3c4b5a69788796a5b4c3d2e1f0";
const TS: i64 = 1_700_000_000;
/// A Stripe-like webhook event, as the request body a signature header signs.
const BODY: &str = r#"{"id":"evt_1NXWcF2eZvKYlo2C","object":"event","type":"payment_intent.succeeded","created":1700000000,"data":{"object":{"id":"pi_3NXWcE2eZvKYlo2C","amount":2000,"currency":"eur","status":"succeeded","metadata":{"order":"A-10042"}}}}"#;

fn bench(c: &mut Criterion) {
    let mut t = Templates::new();
    let plain = t.add("requests[0].url", "/api/v1/feed?limit=50").unwrap();
    let url = t
        .add(
            "requests[1].url",
            "/api/v1/users/{{ vu }}/feed?cursor={{ var.cursor }}&page={{ iteration }}",
        )
        .unwrap();
    let signature = t
        .add(
            "requests[2].headers.Stripe-Signature",
            &format!("t={{{{ ts }}}},v1={{{{ hmac_sha256_hex('{SECRET}', ts ~ '.' ~ body) }}}}"),
        )
        .unwrap();
    assert!(plain.is_static(), "no `{{{{`: never rendered by MiniJinja");
    assert!(matches!(url, Tmpl::Dynamic(_)) && !signature.is_static());

    let vars = BTreeMap::from([("cursor".to_string(), "c_8f14e45f".to_string())]);
    let ctx = t.context_with(7, 42, &vars, ().into(), TS);
    let signed = Templates::with_body(&ctx, BODY);
    assert_eq!(
        t.render(&url, &ctx).unwrap(),
        "/api/v1/users/7/feed?cursor=c_8f14e45f&page=42"
    );
    let expected = hmac_sha256_hex(SECRET.as_bytes(), format!("{TS}.{BODY}").as_bytes());
    assert_eq!(
        t.render(&signature, &signed).unwrap(),
        format!("t={TS},v1={expected}")
    );

    let mut g = c.benchmark_group("template_render");
    g.bench_function("static_url", |b| {
        b.iter(|| t.render(black_box(&plain), &ctx))
    });
    g.bench_function("context_per_iteration", |b| {
        b.iter(|| t.context_with(black_box(7), 42, &vars, ().into(), TS))
    });
    g.bench_function("url_vu_and_var", |b| {
        b.iter(|| t.render(black_box(&url), &ctx))
    });
    g.bench_function("signature_header/template", |b| {
        b.iter(|| t.render(&signature, &Templates::with_body(&ctx, black_box(BODY))))
    });
    g.bench_function("signature_header/hmac_sha256_hex_only", |b| {
        b.iter(|| {
            let msg = format!("{TS}.{}", black_box(BODY));
            hmac_sha256_hex(SECRET.as_bytes(), msg.as_bytes())
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
