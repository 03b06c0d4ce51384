//! `shell::arith::eval`: `$((...))` with variables, assignments among them (`x=`, `x+=`, `x++`).
//! Never panics (overflow wraps, division by zero is an error, recursion is bounded).
#![no_main]

use libfuzzer_sys::fuzz_target;

/// `x` holds the input's second part; `big` the most negative number; `self` a name; the
/// expression may assign any of them (and others).
struct Vars(Vec<(String, String)>);

impl shell::arith::Vars for Vars {
    fn get(&self, name: &str) -> Option<String> {
        self.0.iter().rev().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }
    fn set(&mut self, name: &str, value: &str) {
        self.0.push((name.to_string(), value.to_string()));
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(2, '\u{1}');
    let expr = parts.next().unwrap_or("").to_string();
    let mut vars = Vars(vec![
        ("big".into(), i64::MIN.to_string()),
        ("self".into(), "self".into()),
    ]);
    if let Some(v) = parts.next() {
        vars.0.push(("x".into(), v.to_string()));
    }
    if let Ok(v) = shell::arith::eval(&expr, &mut vars) {
        let _ = v.to_string();
    }
});
