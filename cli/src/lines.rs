//! A history's lines, handed out one at a time where they lie: read from a
//! stream in large blocks, or cut from a history held whole (when it had to
//! be put in time order). No line is copied on its way to the decoder.

use std::io::Read;
use std::ops::Range;

/// Where a replay's lines come from.
pub trait LineSource: Send {
    /// The next line that is not blank (only ASCII whitespace), without its
    /// `\n`; borrowed until the next call. `None` at the end.
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>>;
}

/// True for a line of nothing but ASCII whitespace, which is skipped.
fn blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// The lines of a stream, read a block at a time into one buffer and handed
/// out in place.
///
/// INVARIANT (UnreadWindow): `start <= end <= buf.len()`, and
/// `buf[start..end]` holds the bytes read but not yet handed out.
pub struct ReadLines<R> {
    input: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// The stream has ended: `buf[start..end]` is all that is left.
    ended: bool,
}

impl<R: Read> ReadLines<R> {
    /// How many bytes a read asks for at least; the buffer grows past this
    /// only for a line longer than it.
    const BLOCK: usize = 1 << 20;

    /// The lines of `input`.
    pub fn new(input: R) -> ReadLines<R> {
        ReadLines { input, buf: vec![0; Self::BLOCK], start: 0, end: 0, ended: false }
    }

    /// Where the next line lies in `buf` (blank or not), once it is there
    /// whole; `None` at the end of the stream.
    fn next_range(&mut self) -> std::io::Result<Option<Range<usize>>> {
        loop {
            let unread = self.buf.get(self.start..self.end).unwrap_or_default();
            if let Some(at) = memchr::memchr(b'\n', unread) {
                let line = self.start..self.start + at;
                self.start += at + 1;
                return Ok(Some(line));
            }
            if self.ended {
                // The last line, with no `\n` after it.
                let line = self.start..self.end;
                self.start = self.end;
                return Ok((!line.is_empty()).then_some(line));
            }
            self.read_more()?;
        }
    }

    /// Moves the unread bytes to the front of the buffer and reads after
    /// them, doubling the buffer when they fill it (a line longer than it).
    fn read_more(&mut self) -> std::io::Result<()> {
        self.buf.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
        if self.end == self.buf.len() {
            self.buf.resize(self.buf.len() * 2, 0);
        }
        let free = self.buf.get_mut(self.end..).unwrap_or_default();
        let read = loop {
            match self.input.read(free) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.end += read;
        self.ended = read == 0;
        Ok(())
    }
}

impl<R: Read + Send> LineSource for ReadLines<R> {
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        while let Some(range) = self.next_range()? {
            if self.buf.get(range.clone()).is_some_and(|line| !blank(line)) {
                return Ok(self.buf.get(range));
            }
        }
        Ok(None)
    }
}

/// The lines of a history held whole, in an order given by their places.
pub struct HeldLines {
    bytes: Vec<u8>,
    order: std::vec::IntoIter<Range<usize>>,
}

impl HeldLines {
    /// The lines of `bytes` at `order`, in that order (each a range that
    /// [`line_ranges`] gave for these bytes).
    pub fn new(bytes: Vec<u8>, order: Vec<Range<usize>>) -> HeldLines {
        HeldLines { bytes, order: order.into_iter() }
    }
}

impl LineSource for HeldLines {
    fn next_line(&mut self) -> std::io::Result<Option<&[u8]>> {
        Ok(self.order.next().and_then(|range| self.bytes.get(range)))
    }
}

/// Where each line of `bytes` that is not blank lies, in file order,
/// without its `\n`.
pub fn line_ranges(bytes: &[u8]) -> Vec<Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes).chain(std::iter::once(bytes.len())) {
        if bytes.get(start..end).is_some_and(|line| !blank(line)) {
            ranges.push(start..end);
        }
        start = end + 1;
    }
    ranges
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Hands out its bytes a few at a time, as a pipe may.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.1.min(buf.len()).min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn all(mut source: impl LineSource) -> Vec<String> {
        let mut lines = Vec::new();
        while let Some(line) = source.next_line().unwrap() {
            lines.push(String::from_utf8(line.to_vec()).unwrap());
        }
        lines
    }

    const TEXT: &[u8] = b"{\"a\":1}\n\n  \t\n{\"b\":2}\r\n{\"c\":3}";

    #[test]
    fn a_stream_gives_every_line_but_blank_ones_whatever_its_reads() {
        let want = vec!["{\"a\":1}", "{\"b\":2}\r", "{\"c\":3}"];
        for step in [1, 2, 3, 7, 64] {
            assert_eq!(all(ReadLines::new(Trickle(TEXT, step))), want, "reads of {step} bytes");
        }
        assert_eq!(all(ReadLines::new(&b"x\n"[..])), vec!["x"]);
        assert!(all(ReadLines::new(&b""[..])).is_empty());
        assert!(all(ReadLines::new(&b"\n \n"[..])).is_empty());
    }

    #[test]
    fn a_line_longer_than_a_block_grows_the_buffer() {
        let long = "y".repeat(ReadLines::<&[u8]>::BLOCK * 2 + 5);
        let text = format!("a\n{long}\nb");
        assert_eq!(all(ReadLines::new(Trickle(text.as_bytes(), 100_000))), vec!["a".to_string(), long, "b".to_string()]);
    }

    #[test]
    fn held_lines_come_in_the_order_given() {
        let ranges = line_ranges(TEXT);
        assert_eq!(ranges, vec![0..7, 13..21, 22..29]);
        let reversed: Vec<_> = ranges.into_iter().rev().collect();
        assert_eq!(all(HeldLines::new(TEXT.to_vec(), reversed)), vec!["{\"c\":3}", "{\"b\":2}\r", "{\"a\":1}"]);
    }
}
