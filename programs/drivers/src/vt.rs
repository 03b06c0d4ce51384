//! The terminal emulator behind each virtual console: an 80x25 (any size) grid of VGA cells that
//! a byte stream written by programs draws on, parsed by `vte` as an ANSI/VT100 (xterm subset)
//! terminal would.
//!
//! Understood (what the shell's line editor, kibi and the coreutils use, and a little more):
//!
//! - controls: BS, HT (8-column stops), LF / VT / FF (new line; with `onlcr`, as programs
//!   expect of a console, also back to column 0), CR, BEL (ignored);
//! - ESC `7` / `8` (save/restore cursor), `D` (index), `M` (reverse index), `E` (next line),
//!   `c` (reset);
//! - CSI `A` `B` `C` `D` `E` `F` (moves), `G` / `` ` `` (column), `d` (row), `H` / `f` (position),
//!   `J` 0/1/2/3, `K` 0/1/2, `@` / `P` / `X` (insert/delete/erase characters), `L` / `M`
//!   (insert/delete lines), `S` / `T` (scroll), `r` (scrolling region), `s` / `u` (save/restore),
//!   `m` (SGR: 0, 1, 2, 22, 7, 27, 30–37, 39, 40–47, 49, 90–97, 100–107, 38/48;5;n and
//!   38/48;2;r;g;b in the nearest VGA colour; others ignored), `n` (device status: 5 → `ESC [ 0 n`, 6 → `ESC [ row ; col R`,
//!   answered on the console's input), `?25h` / `?25l` (cursor shown/hidden), `?7h/l`
//!   (autowrap), `?1049h/l` and `?47h/l` (alternate screen), `c` (device attributes: a VT102).
//! - Text: UTF-8, drawn in code page 437 where it has the character, `?` where not.
//!
//! The cursor wraps as a VT100's does: writing the last column leaves the cursor there with a
//! wrap pending, and the next printable character starts the next line.

use alloc::vec::Vec;

/// One cell: a code page 437 character and a VGA attribute (background << 4 | foreground).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cell {
    pub ch: u8,
    pub attr: u8,
}

/// VGA's light grey on black.
pub const DEFAULT_ATTR: u8 = 0x07;

impl Cell {
    pub const BLANK: Cell = Cell {
        ch: b' ',
        attr: DEFAULT_ATTR,
    };
    /// The 16-bit word VGA text memory holds for this cell.
    pub const fn vga(self) -> u16 {
        self.ch as u16 | (self.attr as u16) << 8
    }
}

/// ANSI colour index (black, red, green, yellow, blue, magenta, cyan, white) to VGA's.
const ANSI_TO_VGA: [u8; 8] = [0, 4, 2, 6, 1, 5, 3, 7];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pen {
    fg: u8,
    bg: u8,
    bold: bool,
    inverse: bool,
}

impl Pen {
    const DEFAULT: Pen = Pen {
        fg: 7,
        bg: 0,
        bold: false,
        inverse: false,
    };

    fn attr(&self) -> u8 {
        let mut fg = self.fg;
        if self.bold {
            fg |= 8;
        }
        let (fg, bg) = if self.inverse {
            (self.bg, fg)
        } else {
            (fg, self.bg)
        };
        (bg & 0x7) << 4 | (fg & 0xF)
    }
}

#[derive(Clone, Copy, Debug)]
struct Saved {
    row: usize,
    col: usize,
    pen: Pen,
}

/// The grid and the state that draws on it. Feed it with [`Screen::write`].
pub struct Screen {
    rows: usize,
    cols: usize,
    cells: Vec<Cell>,
    row: usize,
    col: usize,
    wrap_pending: bool,
    pen: Pen,
    saved: Saved,
    top: usize,
    bottom: usize,
    autowrap: bool,
    /// LF also returns to column 0 (the console's output processing, as a Unix tty's ONLCR).
    pub onlcr: bool,
    cursor_visible: bool,
    alternate: Option<(Vec<Cell>, Saved)>,
    responses: Vec<u8>,
    dirty: bool,
}

/// The parser and the screen it draws on.
pub struct Terminal {
    parser: vte::Parser,
    pub screen: Screen,
}

impl Terminal {
    pub fn new(rows: usize, cols: usize) -> Terminal {
        Terminal {
            parser: vte::Parser::new(),
            screen: Screen::new(rows, cols),
        }
    }

    /// Draws `bytes` (any split of a stream gives the same result).
    pub fn write(&mut self, bytes: &[u8]) {
        self.parser.advance(&mut self.screen, bytes);
    }
}

impl Screen {
    pub fn new(rows: usize, cols: usize) -> Screen {
        let (rows, cols) = (rows.max(1), cols.max(1));
        Screen {
            rows,
            cols,
            cells: alloc::vec![Cell::BLANK; rows * cols],
            row: 0,
            col: 0,
            wrap_pending: false,
            pen: Pen::DEFAULT,
            saved: Saved {
                row: 0,
                col: 0,
                pen: Pen::DEFAULT,
            },
            top: 0,
            bottom: rows - 1,
            autowrap: true,
            onlcr: true,
            cursor_visible: true,
            alternate: None,
            responses: Vec::new(),
            dirty: true,
        }
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
    pub fn cols(&self) -> usize {
        self.cols
    }
    pub fn cell(&self, row: usize, col: usize) -> Cell {
        self.cells[row * self.cols + col]
    }
    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }
    /// (row, column), 0-based.
    pub fn cursor(&self) -> (usize, usize) {
        (self.row, self.col)
    }
    pub fn cursor_visible(&self) -> bool {
        self.cursor_visible
    }
    /// A row's characters as text (code page 437 bytes above 0x7F as `?`), trailing blanks cut.
    pub fn row_text(&self, row: usize) -> alloc::string::String {
        let s: alloc::string::String = self.cells[row * self.cols..(row + 1) * self.cols]
            .iter()
            .map(|c| if c.ch < 0x80 { c.ch as char } else { '?' })
            .collect();
        s.trim_end().into()
    }
    /// Bytes the terminal answers with (device status reports), for the console's input.
    pub fn take_responses(&mut self) -> Vec<u8> {
        core::mem::take(&mut self.responses)
    }
    /// Whether anything changed since the last call (the console then redraws).
    pub fn take_dirty(&mut self) -> bool {
        core::mem::take(&mut self.dirty)
    }

    fn idx(&self, row: usize, col: usize) -> usize {
        row * self.cols + col
    }

    fn blank(&self) -> Cell {
        // Erased cells take the current background, as xterm's do.
        Cell {
            ch: b' ',
            attr: (self.pen.bg & 7) << 4 | Pen::DEFAULT.fg,
        }
    }

    fn clear_range(&mut self, from: usize, to: usize) {
        let b = self.blank();
        let to = to.min(self.cells.len());
        if from < to {
            self.cells[from..to].fill(b);
        }
    }

    /// Scrolls rows `top..=bottom` up by `n` (new blank rows at the bottom).
    fn scroll_up(&mut self, top: usize, bottom: usize, n: usize) {
        let n = n.min(bottom + 1 - top);
        let c = self.cols;
        self.cells
            .copy_within((top + n) * c..(bottom + 1) * c, top * c);
        self.clear_range((bottom + 1 - n) * c, (bottom + 1) * c);
    }

    /// Scrolls rows `top..=bottom` down by `n` (new blank rows at the top).
    fn scroll_down(&mut self, top: usize, bottom: usize, n: usize) {
        let n = n.min(bottom + 1 - top);
        let c = self.cols;
        self.cells
            .copy_within(top * c..(bottom + 1 - n) * c, (top + n) * c);
        self.clear_range(top * c, (top + n) * c);
    }

    fn line_feed(&mut self) {
        if self.row == self.bottom {
            self.scroll_up(self.top, self.bottom, 1);
        } else if self.row + 1 < self.rows {
            self.row += 1;
        }
    }

    fn reverse_index(&mut self) {
        if self.row == self.top {
            self.scroll_down(self.top, self.bottom, 1);
        } else if self.row > 0 {
            self.row -= 1;
        }
    }

    fn goto(&mut self, row: usize, col: usize) {
        self.row = row.min(self.rows - 1);
        self.col = col.min(self.cols - 1);
        self.wrap_pending = false;
    }

    fn put(&mut self, ch: u8) {
        if self.wrap_pending {
            self.wrap_pending = false;
            if self.autowrap {
                self.col = 0;
                self.line_feed();
            }
        }
        let i = self.idx(self.row, self.col);
        self.cells[i] = Cell {
            ch,
            attr: self.pen.attr(),
        };
        if self.col + 1 < self.cols {
            self.col += 1;
        } else {
            self.wrap_pending = true;
        }
    }

    fn reset(&mut self) {
        let onlcr = self.onlcr;
        let responses = core::mem::take(&mut self.responses);
        *self = Screen::new(self.rows, self.cols);
        self.onlcr = onlcr;
        self.responses = responses;
    }

    fn save(&self) -> Saved {
        Saved {
            row: self.row,
            col: self.col,
            pen: self.pen,
        }
    }

    fn restore(&mut self, s: Saved) {
        self.pen = s.pen;
        self.goto(s.row, s.col);
    }

    fn sgr(&mut self, params: &vte::Params) {
        let mut it = params.iter().map(|p| p[0]);
        let mut any = false;
        while let Some(p) = it.next() {
            any = true;
            match p {
                0 => self.pen = Pen::DEFAULT,
                1 => self.pen.bold = true,
                2 | 22 => self.pen.bold = false,
                7 => self.pen.inverse = true,
                27 => self.pen.inverse = false,
                30..=37 => self.pen.fg = ANSI_TO_VGA[(p - 30) as usize],
                39 => self.pen.fg = Pen::DEFAULT.fg,
                40..=47 => self.pen.bg = ANSI_TO_VGA[(p - 40) as usize],
                49 => self.pen.bg = Pen::DEFAULT.bg,
                90..=97 => self.pen.fg = ANSI_TO_VGA[(p - 90) as usize] | 8,
                100..=107 => self.pen.bg = ANSI_TO_VGA[(p - 100) as usize],
                38 | 48 => {
                    // 38;5;n / 48;5;n: 256 colours, drawn in the nearest of VGA's 16;
                    // 38;2;r;g;b likewise.
                    let c = match it.next() {
                        Some(5) => it.next().map(|n| xterm_to_vga(n.min(255) as u8)),
                        Some(2) => {
                            let (r, g, b) = (it.next(), it.next(), it.next());
                            Some(rgb_to_vga(
                                r.unwrap_or(0).min(255) as u8,
                                g.unwrap_or(0).min(255) as u8,
                                b.unwrap_or(0).min(255) as u8,
                            ))
                        }
                        _ => None,
                    };
                    if let Some(c) = c {
                        if p == 38 {
                            self.pen.fg = c;
                        } else {
                            self.pen.bg = c & 7;
                        }
                    }
                }
                _ => {}
            }
        }
        if !any {
            self.pen = Pen::DEFAULT;
        }
    }

    fn set_mode(&mut self, private: bool, params: &vte::Params, on: bool) {
        for p in params.iter().map(|p| p[0]) {
            match (private, p) {
                (true, 25) => self.cursor_visible = on,
                (true, 7) => self.autowrap = on,
                (true, 47 | 1047 | 1049) => {
                    if on && self.alternate.is_none() {
                        let saved = self.save();
                        let main = core::mem::replace(
                            &mut self.cells,
                            alloc::vec![Cell::BLANK; self.rows * self.cols],
                        );
                        self.alternate = Some((main, saved));
                    } else if !on && let Some((main, saved)) = self.alternate.take() {
                        self.cells = main;
                        if p == 1049 {
                            self.restore(saved);
                        }
                    }
                }
                _ => {}
            }
        }
    }
}

/// xterm's 256-colour index `n` as the nearest VGA colour.
pub fn xterm_to_vga(n: u8) -> u8 {
    match n {
        0..=7 => ANSI_TO_VGA[n as usize],
        8..=15 => ANSI_TO_VGA[n as usize - 8] | 8,
        16..=231 => {
            let i = n - 16;
            let level = |v: u8| [0u8, 95, 135, 175, 215, 255][v as usize];
            rgb_to_vga(level(i / 36), level(i / 6 % 6), level(i % 6))
        }
        232..=255 => rgb_to_vga(8 + 10 * (n - 232), 8 + 10 * (n - 232), 8 + 10 * (n - 232)),
    }
}

/// The nearest of VGA's 16 colours (by squared distance in RGB).
pub fn rgb_to_vga(r: u8, g: u8, b: u8) -> u8 {
    // VGA's palette, in VGA order.
    const PALETTE: [(u8, u8, u8); 16] = [
        (0, 0, 0),
        (0, 0, 170),
        (0, 170, 0),
        (0, 170, 170),
        (170, 0, 0),
        (170, 0, 170),
        (170, 85, 0),
        (170, 170, 170),
        (85, 85, 85),
        (85, 85, 255),
        (85, 255, 85),
        (85, 255, 255),
        (255, 85, 85),
        (255, 85, 255),
        (255, 255, 85),
        (255, 255, 255),
    ];
    let d = |(pr, pg, pb): (u8, u8, u8)| {
        let sq = |a: u8, b: u8| (a as i32 - b as i32).pow(2);
        sq(r, pr) + sq(g, pg) + sq(b, pb)
    };
    (0..16u8)
        .min_by_key(|&i| d(PALETTE[i as usize]))
        .unwrap_or(7)
}

/// Unicode to code page 437 (the VGA font), `?` where the font has no such character.
pub fn cp437(c: char) -> u8 {
    const HIGH: &str = "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{a0}";
    match c {
        ' '..='~' => c as u8,
        _ => HIGH
            .chars()
            .position(|h| h == c)
            .map_or(b'?', |i| 0x80 + i as u8),
    }
}

impl vte::Perform for Screen {
    fn print(&mut self, c: char) {
        self.dirty = true;
        self.put(cp437(c));
    }

    fn execute(&mut self, byte: u8) {
        self.dirty = true;
        match byte {
            0x08 => {
                self.wrap_pending = false;
                self.col = self.col.saturating_sub(1);
            }
            b'\t' => {
                self.wrap_pending = false;
                self.col = ((self.col / 8 + 1) * 8).min(self.cols - 1);
            }
            b'\n' | 0x0B | 0x0C => {
                self.wrap_pending = false;
                if self.onlcr {
                    self.col = 0;
                }
                self.line_feed();
            }
            b'\r' => {
                self.wrap_pending = false;
                self.col = 0;
            }
            _ => {}
        }
    }

    fn esc_dispatch(&mut self, intermediates: &[u8], _ignore: bool, byte: u8) {
        if !intermediates.is_empty() {
            return; // character set selection (ESC ( B ...): one set here
        }
        self.dirty = true;
        match byte {
            b'7' => self.saved = self.save(),
            b'8' => self.restore(self.saved),
            b'D' => self.line_feed(),
            b'E' => {
                self.col = 0;
                self.line_feed();
            }
            b'M' => self.reverse_index(),
            b'c' => self.reset(),
            _ => {}
        }
    }

    fn csi_dispatch(&mut self, params: &vte::Params, intermediates: &[u8], ignore: bool, c: char) {
        if ignore {
            return;
        }
        self.dirty = true;
        let private = intermediates.first() == Some(&b'?');
        let arg = |i: usize, default: usize| -> usize {
            match params.iter().nth(i).map(|p| p[0] as usize) {
                Some(0) | None => default,
                Some(n) => n,
            }
        };
        let raw0 = params.iter().next().map_or(0, |p| p[0] as usize);
        let n = arg(0, 1);
        let (rows, cols) = (self.rows, self.cols);
        match c {
            'h' => self.set_mode(private, params, true),
            'l' => self.set_mode(private, params, false),
            _ if private || !intermediates.is_empty() => {}
            'A' => {
                let top = if self.row >= self.top { self.top } else { 0 };
                self.goto(self.row.saturating_sub(n).max(top), self.col)
            }
            'B' => {
                let bottom = if self.row <= self.bottom {
                    self.bottom
                } else {
                    rows - 1
                };
                self.goto((self.row + n).min(bottom), self.col)
            }
            'C' => self.goto(self.row, self.col.saturating_add(n)),
            'D' => self.goto(self.row, self.col.saturating_sub(n)),
            'E' => self.goto(self.row.saturating_add(n), 0),
            'F' => self.goto(self.row.saturating_sub(n), 0),
            'G' | '`' => self.goto(self.row, n - 1),
            'd' => self.goto(n - 1, self.col),
            'H' | 'f' => self.goto(n - 1, arg(1, 1) - 1),
            'J' => {
                let here = self.idx(self.row, self.col);
                match raw0 {
                    0 => self.clear_range(here, rows * cols),
                    1 => self.clear_range(0, here + 1),
                    2 | 3 => self.clear_range(0, rows * cols),
                    _ => {}
                }
            }
            'K' => {
                let start = self.idx(self.row, 0);
                let here = self.idx(self.row, self.col);
                match raw0 {
                    0 => self.clear_range(here, start + cols),
                    1 => self.clear_range(start, here + 1),
                    2 => self.clear_range(start, start + cols),
                    _ => {}
                }
            }
            '@' => {
                let (start, end) = (self.idx(self.row, self.col), self.idx(self.row, 0) + cols);
                let n = n.min(end - start);
                self.cells.copy_within(start..end - n, start + n);
                self.clear_range(start, start + n);
            }
            'P' => {
                let (start, end) = (self.idx(self.row, self.col), self.idx(self.row, 0) + cols);
                let n = n.min(end - start);
                self.cells.copy_within(start + n..end, start);
                self.clear_range(end - n, end);
            }
            'X' => {
                let (start, end) = (self.idx(self.row, self.col), self.idx(self.row, 0) + cols);
                self.clear_range(start, (start + n).min(end));
            }
            'L' if (self.top..=self.bottom).contains(&self.row) => {
                self.scroll_down(self.row, self.bottom, n);
                self.col = 0;
            }
            'M' if (self.top..=self.bottom).contains(&self.row) => {
                self.scroll_up(self.row, self.bottom, n);
                self.col = 0;
            }
            'S' => self.scroll_up(self.top, self.bottom, n),
            'T' => self.scroll_down(self.top, self.bottom, n),
            'r' => {
                let (t, b) = (arg(0, 1) - 1, arg(1, rows) - 1);
                if t < b && b < rows {
                    self.top = t;
                    self.bottom = b;
                    self.goto(0, 0);
                }
            }
            's' => self.saved = self.save(),
            'u' => self.restore(self.saved),
            'm' => self.sgr(params),
            'n' => match raw0 {
                5 => self.responses.extend_from_slice(b"\x1b[0n"),
                6 => {
                    let reply = alloc::format!("\x1b[{};{}R", self.row + 1, self.col + 1);
                    self.responses.extend_from_slice(reply.as_bytes());
                }
                _ => {}
            },
            'c' if raw0 == 0 => self.responses.extend_from_slice(b"\x1b[?6c"),
            _ => {}
        }
    }
}

/// The VGA text buffer's offset in the 128 KiB VIDEO_MEMORY chunk (physical 0xB8000, ABI §4.1).
pub const VGA_TEXT_OFFSET: usize = 0x18000;

/// Where the VGA console's cells go: the text buffer and the hardware cursor.
pub trait Display {
    /// Writes cell `i` (row-major, 80 columns).
    fn put(&mut self, i: usize, cell: u16);
    /// Puts the blinking cursor at cell `i`, or hides it.
    fn cursor(&mut self, at: Option<usize>);
}

/// The CRT controller's index and data ports (cursor shape and position).
pub const CRTC_INDEX: u16 = 0x3D4;
pub const CRTC_DATA: u16 = 0x3D5;

/// Sets the VGA hardware cursor through the CRT controller: registers 0x0E/0x0F hold its
/// position, bit 5 of register 0x0A hides it.
pub fn crtc_cursor(io: &mut impl crate::port::PortIo, at: Option<usize>) {
    io.outb(CRTC_INDEX, 0x0A);
    let start = io.inb(CRTC_DATA);
    match at {
        None => io.outb(CRTC_DATA, start | 0x20),
        Some(i) => {
            io.outb(CRTC_DATA, start & !0x20);
            io.outb(CRTC_INDEX, 0x0F);
            io.outb(CRTC_DATA, i as u8);
            io.outb(CRTC_INDEX, 0x0E);
            io.outb(CRTC_DATA, (i >> 8) as u8);
        }
    }
}

/// Draws `screen` on `display`, writing only the cells that differ from `shown` (what the
/// display holds now, updated); `force` redraws everything (a console switch).
pub fn draw(screen: &Screen, shown: &mut Vec<u16>, display: &mut impl Display, force: bool) {
    if shown.len() != screen.cells.len() {
        shown.clear();
        shown.resize(screen.cells.len(), 0);
    }
    for (i, c) in screen.cells.iter().enumerate() {
        let v = c.vga();
        if force || shown[i] != v {
            shown[i] = v;
            display.put(i, v);
        }
    }
    let at = screen
        .cursor_visible
        .then(|| screen.row * screen.cols + screen.col);
    display.cursor(at);
}

#[cfg(test)]
mod tests;
