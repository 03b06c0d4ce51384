//! `shell::arith::eval`: `$((...))` with variables that hold more arithmetic. Never panics
//! (overflow wraps, division by zero is an error, recursion is bounded).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(2, '\u{1}');
    let expr = parts.next().unwrap_or("").to_string();
    let var_value = parts.next().map(str::to_string);
    let var = move |name: &str| match name {
        "x" => var_value.clone(),
        "big" => Some(i64::MIN.to_string()),
        "self" => Some("self".into()),
        _ => None,
    };
    if let Ok(v) = shell::arith::eval(&expr, &var) {
        let _ = v.to_string();
    }
});
