use super::*;
use crate::vt::Cell;

/// A VGA text buffer and cursor in memory.
struct Screen {
    cells: Vec<u16>,
    cursor: Option<usize>,
}

impl Display for Screen {
    fn put(&mut self, i: usize, cell: u16) {
        self.cells[i] = cell;
    }
    fn cursor(&mut self, at: Option<usize>) {
        self.cursor = at;
    }
}

impl Screen {
    fn row(&self, r: usize) -> String {
        let s: String = self.cells[r * COLS..(r + 1) * COLS]
            .iter()
            .map(|&v| (v & 0xFF) as u8 as char)
            .collect();
        s.trim_end().to_string()
    }
}

/// A UART model: what was sent, what waits to be received.
#[derive(Default)]
struct Line {
    sent: Vec<u8>,
    rx: std::collections::VecDeque<u8>,
    /// The transmitter never has room (a stalled line).
    jammed: bool,
}

impl PortIo for Line {
    fn inb(&mut self, port: u16) -> u8 {
        match port - crate::serial::COM1 {
            5 => (!self.jammed as u8) << 5 | !self.rx.is_empty() as u8,
            0 => self.rx.pop_front().unwrap_or(0),
            r => panic!("inb {r}"),
        }
    }
    fn outb(&mut self, port: u16, v: u8) {
        if port == crate::serial::COM1 && self.sent.len() < 1 << 20 {
            self.sent.push(v);
        }
    }
}

fn consoles(n: usize) -> Consoles<Screen, Line> {
    let mut line = Line::default();
    let uart = Uart::init(&mut line, crate::serial::COM1);
    line.sent.clear(); // the divisor byte
    let screen = Screen {
        cells: vec![0; ROWS * COLS],
        cursor: None,
    };
    Consoles::new(n, screen, Some((uart, line)))
}

fn read_all(c: &mut Consoles<Screen, Line>, vt: usize) -> Vec<u8> {
    match c.read(vt, 4096) {
        Some(ReadOut::Data(d)) => d,
        other => panic!("read on {vt}: {other:?}"),
    }
}

#[test]
fn the_log_is_drawn_and_goes_down_the_line_at_first() {
    let mut c = consoles(3);
    c.output(0, b"init: starting\n\x1b[1mlogin: ");
    assert_eq!(c.display().row(0), "init: starting");
    assert_eq!(c.display().row(1), "login:");
    assert_eq!(c.display().cursor, Some(COLS + 7));
    assert_eq!(
        c.display().cells[COLS],
        Cell {
            ch: b'l',
            attr: 0x0F
        }
        .vga()
    );
    let sent = &c.serial().unwrap().1.sent;
    assert_eq!(sent, b"init: starting\r\n\x1b[1mlogin: ");
}

#[test]
fn serial_output_survives_a_stall_and_reports_what_it_dropped() {
    let mut c = consoles(1);
    c.serial().unwrap().1.jammed = true;
    c.output(0, b"lost\n"); // 6 bytes on the line (CR LF)
    assert_eq!(
        c.display().row(0),
        "lost",
        "the screen does not wait for the line"
    );
    c.serial().unwrap().1.jammed = false;
    c.output(0, b"back\n");
    assert_eq!(c.display().row(1), "back");
    assert_eq!(
        c.display().row(2),
        "drivers console: COM1 output stalled; 6 bytes dropped"
    );
    let sent = String::from_utf8(c.serial().unwrap().1.sent.clone()).unwrap();
    assert_eq!(
        sent,
        "back\r\ndrivers console: COM1 output stalled; 6 bytes dropped\r\n"
    );
    // Reported once.
    c.output(0, b"more\n");
    assert_eq!(c.display().row(3), "more");
}

#[test]
fn cooked_typing_is_echoed_and_read_as_lines() {
    let mut c = consoles(1);
    c.output(0, b"login: ");
    for b in b"roox\x7ft\r" {
        c.key(Input::Bytes(vec![*b]));
        if *b != b'\r' {
            assert_eq!(c.read(0, 100), None, "nothing readable before Enter");
        }
    }
    assert_eq!(read_all(&mut c, 0), b"root\n");
    assert_eq!(c.display().row(0), "login: root");
    assert_eq!(c.display().cursor, Some(COLS));
    // Ctrl-D on an empty line: one EOF.
    c.key(Input::Bytes(vec![0x04]));
    assert_eq!(c.read(0, 100), Some(ReadOut::Eof));
    assert_eq!(c.read(0, 100), None);
}

#[test]
fn raw_mode_and_device_status_reports() {
    let mut c = consoles(1);
    c.set_raw(0, true);
    assert!(c.raw(0));
    c.key(Input::Bytes(b"\x1b[A".to_vec()));
    c.output(0, b"\x1b[3;7H\x1b[6n");
    assert_eq!(read_all(&mut c, 0), b"\x1b[A\x1b[3;7R");
    // On the serial terminal (number 1 here) the emulation answers at once; the report the
    // real serial terminal sends as well is dropped, other keys pass.
    c.set_raw(1, true);
    c.output(1, b"\x1b[2;5H\x1b[6n");
    c.serial_input(b"\x1b[30;100Rq\x1b[Dx");
    assert_eq!(read_all(&mut c, 1), b"\x1b[2;5Rq\x1b[Dx");
}

#[test]
fn alt_f_keys_switch_what_is_shown_and_typed_into() {
    let mut c = consoles(3);
    c.output(0, b"system console");
    c.output(1, b"second");
    assert_eq!(c.display().row(0), "system console");
    c.key(Input::Switch(1));
    assert_eq!(c.active(), 1);
    assert_eq!(c.display().row(0), "second");
    assert_eq!(c.display().cursor, Some(6));
    c.key(Input::Bytes(b"x\r".to_vec()));
    assert_eq!(read_all(&mut c, 1), b"x\n");
    assert_eq!(c.read(0, 10), None);
    // Output to a hidden terminal is kept, not drawn.
    c.output(0, b"\r\nlater");
    assert_eq!(c.display().row(1), "");
    c.key(Input::Switch(7)); // no such terminal
    assert_eq!(c.active(), 1);
    c.key(Input::Switch(3)); // the serial terminal is not on the screen
    assert_eq!(c.active(), 1);
    c.key(Input::Switch(0));
    assert_eq!(c.display().row(1), "later");
    // Only the log (before the serial terminal writes) goes down the line; serial input goes
    // to the serial terminal whatever is shown.
    assert!(
        !c.serial()
            .unwrap()
            .1
            .sent
            .windows(6)
            .any(|w| w == b"second")
    );
    c.key(Input::Switch(2));
    c.serial_input(b"ls\r");
    assert_eq!(c.read(0, 10), None);
    assert_eq!(c.read(2, 10), None);
    assert_eq!(read_all(&mut c, 3), b"ls\n");
}

#[test]
fn the_serial_terminal_is_a_terminal_of_its_own_after_the_boot_log() {
    let mut c = consoles(2);
    assert_eq!((c.count(), c.vga(), c.serial_terminal()), (3, 2, Some(2)));
    // The boot log goes to the screen and down the line, until the serial login's prompt.
    c.output(0, b"init: starting\n");
    c.output(2, b"login: ");
    c.output(0, b"tcp: later\n");
    c.output(2, b"root\n");
    let sent = String::from_utf8(c.serial().unwrap().1.sent.clone()).unwrap();
    assert_eq!(sent, "init: starting\r\nlogin: root\r\n");
    assert_eq!(c.display().row(0), "init: starting");
    assert_eq!(c.display().row(1), "tcp: later");
    assert_eq!(c.display().row(2), "", "the serial terminal is never drawn");
    assert_eq!(c.vt(2).term.screen.row_text(0), "login: root");
    // Without a serial line there is no serial terminal.
    let screen = Screen {
        cells: vec![0; ROWS * COLS],
        cursor: None,
    };
    let mut c: Consoles<Screen, Line> = Consoles::new(2, screen, None);
    assert_eq!((c.count(), c.serial_terminal()), (2, None));
    c.serial_input(b"x\r");
    assert_eq!(c.pending(0) + c.pending(1), 0);
}

#[test]
fn keys_typed_ahead_wait_for_a_reader_and_its_mode() {
    let mut c = consoles(1);
    c.output(0, b"password: ");
    // Typed before the program switched to raw mode: not echoed, not taken yet.
    c.key(Input::Bytes(b"secret\r".to_vec()));
    assert_eq!(c.pending(0), 7);
    assert_eq!(c.display().row(0), "password:");
    c.set_raw(0, true);
    assert_eq!(read_all(&mut c, 0), b"secret\r");
    assert_eq!(c.display().row(0), "password:", "no echo in raw mode");
    // While a READ waits, keys are taken (and echoed in cooked mode) as they come.
    c.set_raw(0, false);
    c.begin_read(0);
    c.key(Input::Bytes(b"ls".to_vec()));
    assert_eq!(c.pending(0), 0);
    assert_eq!(c.display().row(0), "password: ls");
    c.end_read(0);
}

#[test]
fn report_filter_passes_everything_but_reports() {
    let mut f = ReportFilter::default();
    let mut out = Vec::new();
    for &b in b"a\x1b[12;40R\x1b[A\x1b[1;5C\x1b\x1b[;R\x1bOPz" {
        f.feed(b, &mut out);
    }
    assert_eq!(out, b"a\x1b[A\x1b[1;5C\x1b\x1b[;R\x1bOPz");
}

/// The serial terminal is a VT100's 24 rows (a full-screen program on an 80x24 terminal keeps
/// its top row); the screen's terminals are the VGA text mode's 25. Its emulator answers a
/// cursor report at most at row 24.
#[test]
fn the_serial_terminal_has_24_rows_and_the_screen_25() {
    let mut c = consoles(2);
    let serial = c.serial_terminal().unwrap();
    assert_eq!(c.size(0), (ROWS as u16, COLS as u16));
    assert_eq!(c.size(1), (25, 80));
    assert_eq!(c.size(serial), (24, 80));
    c.set_raw(serial, true);
    c.output(serial, b"\x1b[99;1H\x1b[6n");
    let report = read_all(&mut c, serial);
    assert_eq!(
        report,
        b"\x1b[24;1R",
        "{:?}",
        String::from_utf8_lossy(&report)
    );
}
