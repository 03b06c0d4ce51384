//! The exec parameter string, the args/env blocks and the `list_mounts` text: the kernel (and
//! the stub) read what any program wrote. Readers never panic; what the writer accepts reads back
//! unchanged.
#![no_main]

use libeurali::params::{self, ExecParams, ParamItem, ParamParser};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Readers on raw bytes.
    let mut items = 0;
    for item in ParamParser::new(data) {
        items += 1;
        match item {
            Ok(ParamItem::Args(b)) | Ok(ParamItem::Env(b)) => {
                for f in params::fields(b) {
                    let (k, v) = params::env_record(f);
                    assert!(k.len() + v.len() <= f.len());
                    assert!(!k.contains(&b'='));
                }
            }
            Ok(ParamItem::Mount { path, .. }) | Ok(ParamItem::Umount { path }) => {
                assert!(!path.contains(&b':'));
            }
            Ok(_) => {}
            Err(_) => break,
        }
    }
    assert!(items <= data.len());
    if let Ok(paths) = params::parse_mount_list(data) {
        // Paths without the `",` separator inside come back as they were written.
        if paths.iter().all(|p| !p.contains("\",")) {
            let text = params::mount_list_text(paths.iter().map(|s| s.as_str()));
            assert_eq!(params::parse_mount_list(text.as_bytes()).unwrap(), paths);
        }
    }

    // Writer then reader: split the input into args and env records by NUL bytes.
    let Ok(text) = core::str::from_utf8(data) else {
        return;
    };
    let mut parts = text.split('\n');
    let args: Vec<&str> = parts.next().unwrap_or("").split('\0').collect();
    let env: Vec<(&str, &str)> = parts
        .filter_map(|l| l.split_once('\0'))
        .collect();
    let built = ExecParams::new()
        .new_namespace()
        .mount(3, args[0])
        .and_then(|p| p.args(&args))
        .and_then(|p| p.env(&env))
        .and_then(|p| p.finish());
    let Ok(bytes) = built else {
        return;
    };
    let got: Vec<ParamItem> = ParamParser::new(&bytes).map(|i| i.unwrap()).collect();
    assert_eq!(got[0], ParamItem::New);
    assert_eq!(
        got[1],
        ParamItem::Mount {
            handle: 3,
            path: args[0].as_bytes()
        }
    );
    let ParamItem::Args(a) = got[2] else {
        panic!("args item expected, got {:?}", got[2]);
    };
    let read: Vec<&[u8]> = params::fields(a).collect();
    // An empty args list and a list of one empty arg write the same block.
    if !(args.len() == 1 && args[0].is_empty()) {
        assert_eq!(read, args.iter().map(|s| s.as_bytes()).collect::<Vec<_>>());
    }
    let ParamItem::Env(e) = got[3] else {
        panic!("env item expected, got {:?}", got[3]);
    };
    let read: Vec<(&[u8], &[u8])> = params::fields(e).map(params::env_record).collect();
    let want: Vec<(&[u8], &[u8])> = env.iter().map(|(k, v)| (k.as_bytes(), v.as_bytes())).collect();
    assert_eq!(read, want);
    assert_eq!(got.len(), 4);
});
