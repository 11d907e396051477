//! Velocity snapshots: the whole state of a [`VelocityStore`] in a file, so
//! that a restarted engine reads exactly the windows it had.
//!
//! Format (all integers little-endian):
//! ```text
//! "KENSAVEL"            8 bytes, the magic
//! format version        u32, FORMAT_VERSION
//! payload length        u64
//! payload               groups, see `write_payload`
//! CRC-32 of payload     u32
//! ```
//! Reading checks the magic, the version, the length and the checksum before
//! it looks at the payload, and parses the whole payload before it changes
//! the store: a foreign, truncated or altered file is an error that names
//! what is wrong, and the store is left as it was.
//!
//! Saving writes a temporary file beside the target, flushes it to disk and
//! renames it over the target, so a crash leaves either the old snapshot or
//! the new one. Each shard is read under its lock; for a snapshot of one
//! instant, save when no decision is in flight (at shutdown).

use super::{KeyEntry, LaneWindows, Lane, Shard, StoredKey, VelocityStore};
use crate::velocity::{Entry, KeyPart, KeyRef, Window};
use kensa_compiler::schema::EVENT_TIME_PATH;
use kensa_compiler::value::{u128_to_ip, ip_to_u128, Value};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// The first bytes of every snapshot.
pub const MAGIC: &[u8; 8] = b"KENSAVEL";

/// The version of the format this build writes. It also reads version 1,
/// whose lane series still named their window (see [`series_of_v1`]).
pub const FORMAT_VERSION: u32 = 2;

/// A snapshot that could not be written or read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotError {
    /// What went wrong, with the file when there is one.
    pub message: String,
}

impl std::fmt::Display for SnapshotError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for SnapshotError {}

fn err(message: impl Into<String>) -> SnapshotError {
    SnapshotError { message: message.into() }
}

impl VelocityStore {
    /// The whole state as snapshot bytes.
    pub fn snapshot_bytes(&self) -> Vec<u8> {
        let mut payload = Vec::new();
        write_payload(self, &mut payload);
        let mut out = Vec::with_capacity(payload.len() + 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        out.extend_from_slice(&payload);
        out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        out
    }

    /// Writes the state to `path` atomically (temporary file, flush, rename).
    pub fn save_snapshot(&self, path: &Path) -> Result<(), SnapshotError> {
        let bytes = self.snapshot_bytes();
        let name = path.file_name().ok_or_else(|| err(format!("{}: not a file path", path.display())))?;
        let mut tmp_name = name.to_os_string();
        tmp_name.push(format!(".tmp-{}", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        let io = |what: &str, e: std::io::Error| err(format!("{}: cannot {what}: {e}", tmp.display()));
        let write = || -> Result<(), SnapshotError> {
            let mut f = std::fs::File::create(&tmp).map_err(|e| io("create", e))?;
            f.write_all(&bytes).map_err(|e| io("write", e))?;
            f.sync_all().map_err(|e| io("flush", e))?;
            Ok(())
        };
        if let Err(e) = write() {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
        std::fs::rename(&tmp, path).map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            err(format!("{}: cannot replace it: {e}", path.display()))
        })
    }

    /// Replaces the whole state with the snapshot at `path`. Nothing changes
    /// when the file cannot be read or is not a valid snapshot.
    pub fn restore_snapshot(&self, path: &Path) -> Result<(), SnapshotError> {
        let bytes = std::fs::read(path).map_err(|e| err(format!("{}: cannot read: {e}", path.display())))?;
        self.restore_bytes(&bytes).map_err(|e| err(format!("{}: {}", path.display(), e.message)))
    }

    /// Replaces the whole state with snapshot bytes; nothing changes when
    /// they are not a valid snapshot. Groups and lanes of the snapshot are
    /// registered, so a rule set deployed later finds its windows.
    pub fn restore_bytes(&self, bytes: &[u8]) -> Result<(), SnapshotError> {
        let groups = read_snapshot(bytes)?;
        self.clear();
        for g in groups {
            let group = self.group(&g.key_paths);
            let lanes: Vec<usize> = g.lanes.iter().map(|l| group.exact_lane(&l.series, l.window_ms)).collect();
            for (key, windows) in g.keys {
                let key: Vec<KeyRef<'_>> = key.iter().map(KeyPart::as_key_ref).collect();
                let hash = group.hash(&key);
                let Some(shard) = group.shard(hash) else { continue };
                let mut shard = shard.lock();
                let mut by_lane = LaneWindows::new();
                for (i, (w, newest)) in windows.into_iter().enumerate() {
                    let Some(&lane) = lanes.get(i) else { continue };
                    if by_lane.len() <= lane {
                        by_lane.resize_with(lane + 1, Window::default);
                    }
                    if let Some(slot) = by_lane.get_mut(lane) {
                        *slot = w;
                    }
                    shard.newest = shard.newest.max(newest);
                }
                shard.table.insert_unique(hash, KeyEntry { hash, key: StoredKey::of(&key), windows: by_lane }, |e| e.hash);
            }
        }
        Ok(())
    }
}

fn write_payload(store: &VelocityStore, out: &mut Vec<u8>) {
    let groups = store.groups();
    put_len(out, groups.len());
    for g in &groups {
        put_len(out, g.key_paths.len());
        for p in &g.key_paths {
            put_str(out, p);
        }
        // Lanes registered after this copy have no entries in it: a key's
        // windows are cut to the copied lanes.
        let lanes: Vec<Lane> = g.lanes();
        put_len(out, lanes.len());
        for l in &lanes {
            put_str(out, &l.series);
            out.extend_from_slice(&l.window_ms.to_le_bytes());
        }
        let shards: Vec<_> = g.shards.iter().map(|s| s.lock()).collect::<Vec<_>>();
        let keys: usize = shards.iter().map(|s| s.table.len()).sum();
        put_len(out, keys);
        for shard in &shards {
            write_shard(shard, lanes.len(), out);
        }
    }
}

fn write_shard(shard: &Shard, lanes: usize, out: &mut Vec<u8>) {
    for e in &shard.table {
        let key = e.key.parts();
        put_len(out, key.len());
        // A key part is written as the value it was taken from.
        for part in key.iter() {
            put_value(out, &part.to_value());
        }
        let windows = e.windows.get(..lanes.min(e.windows.len())).unwrap_or(&[]);
        put_len(out, windows.len());
        for w in windows {
            put_len(out, w.len());
            for entry in w.entries() {
                out.extend_from_slice(&entry.time.to_le_bytes());
                put_value(out, &entry.value);
            }
        }
    }
}

fn put_len(out: &mut Vec<u8>, n: usize) {
    out.extend_from_slice(&(n as u64).to_le_bytes());
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_len(out, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn put_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Missing => out.push(0),
        Value::Bool(b) => {
            out.push(1);
            out.push(u8::from(*b));
        }
        Value::Number(n) => {
            out.push(2);
            out.extend_from_slice(&n.to_bits().to_le_bytes());
        }
        Value::Str(s) => {
            out.push(3);
            put_str(out, s);
        }
        Value::Ip(a) => {
            out.push(4);
            out.extend_from_slice(&ip_to_u128(*a).to_le_bytes());
        }
        Value::Timestamp(t) => {
            out.push(5);
            out.extend_from_slice(&t.to_le_bytes());
        }
        Value::Duration(d) => {
            out.push(6);
            out.extend_from_slice(&d.to_le_bytes());
        }
        Value::StrList(items) => {
            out.push(7);
            put_len(out, items.len());
            for s in items.iter() {
                put_str(out, s);
            }
        }
    }
}

/// A key's windows by snapshot lane, each with its newest entry's time.
type KeyWindows = (Vec<KeyPart>, Vec<(Window, i64)>);

/// A group as read from a snapshot, before it touches the store.
struct GroupData {
    key_paths: Vec<String>,
    lanes: Vec<Lane>,
    keys: Vec<KeyWindows>,
}

fn read_snapshot(bytes: &[u8]) -> Result<Vec<GroupData>, SnapshotError> {
    let header = MAGIC.len() + 4 + 8;
    if bytes.len() < MAGIC.len() || bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(err("not a Kensa velocity snapshot (the file does not start with KENSAVEL)"));
    }
    let mut r = Reader { bytes, at: MAGIC.len() };
    let version = r.u32().map_err(|_| err("truncated snapshot: the header is incomplete"))?;
    if version != FORMAT_VERSION && version != 1 {
        return Err(err(format!("snapshot format version {version} is not supported (this build reads versions 1 to {FORMAT_VERSION})")));
    }
    let len = r.u64().map_err(|_| err("truncated snapshot: the header is incomplete"))?;
    let expected = u64::try_from(header + 4).unwrap_or(u64::MAX).saturating_add(len);
    let actual = bytes.len() as u64;
    if actual != expected {
        return Err(err(format!("truncated or extended snapshot: {actual} bytes where the header announces {expected}")));
    }
    let end = header.saturating_add(usize::try_from(len).unwrap_or(usize::MAX));
    let payload = bytes.get(header..end).ok_or_else(|| err("truncated snapshot"))?;
    let stored = bytes.get(end..).and_then(|c| <[u8; 4]>::try_from(c).ok()).map(u32::from_le_bytes);
    if stored != Some(crc32fast::hash(payload)) {
        return Err(err("corrupt snapshot: the checksum does not match its contents"));
    }
    let mut r = Reader { bytes: payload, at: 0 };
    let groups = read_payload(&mut r, version).map_err(|what| err(format!("malformed snapshot at payload byte {}: {what}", r.at)))?;
    if r.at != payload.len() {
        return Err(err(format!("malformed snapshot: {} unread bytes after the last group", payload.len() - r.at)));
    }
    Ok(groups)
}

/// The series a lane of a version-1 snapshot names today. Version 1 wrote
/// `of(X) by(K) over(Nms) where(F)`: the window is now the lane's alone,
/// and a velocity of the event's own time records into the lane of its
/// events' times, `of()` (see `VelocityIr::times_only`). Key paths hold no
/// spaces or parentheses, so the first ` over(` after `) by(` is the window.
fn series_of_v1(series: &str) -> String {
    let Some(by) = series.find(") by(").map(|i| i + 2) else { return series.to_string() };
    let Some(over) = series.get(by..).and_then(|rest| rest.find(" over(")).map(|i| by + i) else { return series.to_string() };
    let Some(end) = series.get(over..).and_then(|rest| rest.find("ms)")).map(|i| over + i + 3) else { return series.to_string() };
    let (Some(head), Some(tail)) = (series.get(..over), series.get(end..)) else { return series.to_string() };
    let time_of = format!("of({EVENT_TIME_PATH}) ");
    match head.strip_prefix(&time_of) {
        Some(events) => format!("of() {events}{tail}"),
        None => format!("{head}{tail}"),
    }
}

fn read_payload(r: &mut Reader<'_>, version: u32) -> Result<Vec<GroupData>, String> {
    let n = r.len()?;
    let mut groups = Vec::new();
    for _ in 0..n {
        let paths = r.len()?;
        let key_paths = (0..paths).map(|_| r.string()).collect::<Result<Vec<_>, _>>()?;
        let lanes_n = r.len()?;
        let mut lanes = Vec::new();
        for _ in 0..lanes_n {
            let series = r.string()?;
            let window_ms = r.i64()?;
            if window_ms <= 0 {
                return Err(format!("lane `{series}` has window {window_ms} ms"));
            }
            let series = if version == 1 { series_of_v1(&series) } else { series };
            lanes.push(Lane { series, window_ms });
        }
        let keys_n = r.len()?;
        let mut keys = Vec::new();
        for _ in 0..keys_n {
            let parts = r.len()?;
            let key = (0..parts).map(|_| r.key_part()).collect::<Result<Vec<_>, _>>()?;
            let windows_n = r.len()?;
            if windows_n > lanes.len() {
                return Err(format!("a key has {windows_n} windows for {} lanes", lanes.len()));
            }
            let mut windows = Vec::new();
            for _ in 0..windows_n {
                let entries_n = r.len()?;
                let mut entries = Vec::new();
                for _ in 0..entries_n {
                    let time = r.i64()?;
                    let value = r.value()?;
                    entries.push(Entry { time, value });
                }
                let newest = entries.last().map_or(i64::MIN, |e| e.time);
                let w = Window::from_sorted(entries).ok_or("window entries out of time order")?;
                windows.push((w, newest));
            }
            keys.push((key, windows));
        }
        groups.push(GroupData { key_paths, lanes, keys });
    }
    Ok(groups)
}

/// A cursor over payload bytes; every read checks the bounds.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let end = self.at.checked_add(N).ok_or("length overflow")?;
        let slice = self.bytes.get(self.at..end).ok_or("unexpected end of data")?;
        self.at = end;
        <[u8; N]>::try_from(slice).map_err(|_| "unexpected end of data".to_string())
    }
    fn u8(&mut self) -> Result<u8, String> {
        let [b] = self.take::<1>()?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, String> {
        self.take::<4>().map(u32::from_le_bytes)
    }
    fn u64(&mut self) -> Result<u64, String> {
        self.take::<8>().map(u64::from_le_bytes)
    }
    fn i64(&mut self) -> Result<i64, String> {
        self.take::<8>().map(i64::from_le_bytes)
    }
    /// A count, which can never exceed the bytes left (every counted item
    /// takes at least one byte), so a corrupt count cannot make us allocate.
    fn len(&mut self) -> Result<usize, String> {
        let n = self.u64()?;
        let left = (self.bytes.len() - self.at.min(self.bytes.len())) as u64;
        if n > left {
            return Err(format!("count {n} exceeds the {left} bytes left"));
        }
        usize::try_from(n).map_err(|_| format!("count {n} too large"))
    }
    fn string(&mut self) -> Result<String, String> {
        let n = self.len()?;
        let end = self.at + n;
        let slice = self.bytes.get(self.at..end).ok_or("unexpected end of data")?;
        self.at = end;
        String::from_utf8(slice.to_vec()).map_err(|_| "a string is not UTF-8".to_string())
    }
    fn key_part(&mut self) -> Result<KeyPart, String> {
        KeyPart::of(&self.value()?).ok_or_else(|| "a key part is missing or a list".to_string())
    }
    fn bool(&mut self) -> Result<bool, String> {
        match self.u8()? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(format!("bad bool byte {b}")),
        }
    }
    fn value(&mut self) -> Result<Value, String> {
        Ok(match self.u8()? {
            0 => Value::Missing,
            1 => Value::Bool(self.bool()?),
            2 => {
                let n = f64::from_bits(self.u64()?);
                if !n.is_finite() {
                    return Err("a number is not finite".to_string());
                }
                Value::Number(n)
            }
            3 => Value::Str(Arc::from(self.string()?)),
            4 => Value::Ip(u128_to_ip(u128::from_le_bytes(self.take::<16>()?))),
            5 => Value::Timestamp(self.i64()?),
            6 => Value::Duration(self.i64()?),
            7 => {
                let n = self.len()?;
                if n == 0 {
                    return Err("an empty string list".to_string());
                }
                let items = (0..n).map(|_| self.string().map(Arc::from)).collect::<Result<Vec<Arc<str>>, _>>()?;
                Value::StrList(items.into())
            }
            t => return Err(format!("unknown value tag {t}")),
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn version_1_series_lose_their_window_and_times_of_the_event_become_times() {
        assert_eq!(series_of_v1("of(amount) by(customer.id) over(3600000ms) where()"), "of(amount) by(customer.id) where()");
        assert_eq!(series_of_v1("of() by(ip.address,card.hash) over(60000ms) where(amount > 1)"), "of() by(ip.address,card.hash) where(amount > 1)");
        assert_eq!(series_of_v1("of(event.time) by(customer.id) over(5ms) where(x == \" over(1ms)\")"), "of() by(customer.id) where(x == \" over(1ms)\")");
        // Not a version-1 series: left as it is.
        assert_eq!(series_of_v1("of(amount) by(customer.id) where()"), "of(amount) by(customer.id) where()");
    }

    #[test]
    fn a_version_1_snapshot_restores_under_the_series_of_today() {
        let old = VelocityStore::new();
        let group = old.group(&["customer.id".to_string()]);
        let lane = group.exact_lane("of(amount) by(customer.id) over(3600000ms) where()", 3_600_000);
        let key = [KeyRef::Str("c1")];
        group.record(group.hash(&key), &key, 10, &[(lane, 3_600_000, &Value::Number(5.0))]);
        let mut bytes = old.snapshot_bytes();
        // The header's version is outside the checksum.
        bytes[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&1u32.to_le_bytes());
        let restored = VelocityStore::new();
        restored.restore_bytes(&bytes).unwrap();
        let group = restored.find_group(&["customer.id".to_string()]).unwrap();
        assert_eq!(group.lanes(), vec![Lane { series: "of(amount) by(customer.id) where()".to_string(), window_ms: 3_600_000 }]);
        assert_eq!(restored.stats().entries, 1);
        bytes[MAGIC.len()..MAGIC.len() + 4].copy_from_slice(&3u32.to_le_bytes());
        let e = restored.restore_bytes(&bytes).unwrap_err();
        assert!(e.message.contains("version 3 is not supported"), "{}", e.message);
    }
}
