//! `gen_history`: writes a payment history (JSON Lines, in time order, about
//! 260 bytes an event) and its chargeback labels, deterministic for a seed.
//!
//! Most events are ordinary customers buying with their own one or two
//! cards. Mixed in are card-testing attacks: one IP (and device) running many
//! stolen cards in a few minutes, which `ip_OverTimes` and
//! `sbps_id_OverTimes` of `examples/default.kensa` catch, and whose events
//! later come back as chargebacks, some of them reversed.
//!
//! ```sh
//! cargo run --release -p gen_history -- --events 1750000 --history h.jsonl --labels l.jsonl
//! ```

use clap::Parser;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

/// Command-line options.
#[derive(Parser)]
struct Args {
    /// How many events to write.
    #[arg(long, default_value_t = 100_000)]
    events: u64,
    /// The random seed: the same seed writes the same files.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Where to write the history.
    #[arg(long)]
    history: PathBuf,
    /// Where to write the labels.
    #[arg(long)]
    labels: PathBuf,
}

const START_MS: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const COUNTRIES: [&str; 6] = ["JPN", "JPN", "JPN", "KOR", "USA", "GBR"];

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut history = BufWriter::new(std::fs::File::create(&args.history)?);
    let mut labels = BufWriter::new(std::fs::File::create(&args.labels)?);
    let customers = (args.events / 20).max(10);
    let mut time = START_MS;
    let mut written = 0u64;
    let mut attack = 0u64;
    while written < args.events {
        time += rng.random_range(0..2_000);
        if rng.random_range(0..1_000) == 0 {
            // A card-testing attack: one IP and device, 6 to 14 fresh cards.
            attack += 1;
            let ip = format!("198.18.{}.{}", attack % 250, rng.random_range(1..250));
            for k in 0..rng.random_range(6..15) {
                if written >= args.events {
                    break;
                }
                time += rng.random_range(5_000..40_000);
                written += 1;
                let id = format!("e{written}");
                let card = format!("stolen-{attack}-{k}");
                let amount = rng.random_range(1..50) * 100;
                write_event(&mut history, &id, time, &format!("x{attack}"), &card, amount, &ip, &format!("bot{attack}"), "USA")?;
                if rng.random_range(0..10) < 7 {
                    writeln!(labels, "{{\"event_id\":\"{id}\",\"event_type\":\"CHARGEBACK\",\"reason\":\"Card Reported Stolen\",\"value\":{amount}}}")?;
                    if rng.random_range(0..10) == 0 {
                        writeln!(labels, "{{\"event_id\":\"{id}\",\"event_type\":\"CHARGEBACK_REVERSE\",\"reason\":\"Representment won\",\"value\":{amount}}}")?;
                    }
                }
            }
            continue;
        }
        written += 1;
        let c = rng.random_range(0..customers);
        let card = format!("card{}-{}", c, rng.random_range(0..2));
        let amount = 500 + rng.random_range(0..200) * rng.random_range(1..100);
        let ip = format!("203.{}.{}.{}", c % 200, (c / 200) % 250, c % 97 + 1);
        let country = COUNTRIES.get((c % 6) as usize).copied().unwrap_or("JPN");
        write_event(&mut history, &format!("e{written}"), time, &format!("cust{c}"), &card, amount, &ip, &format!("dev{c}"), country)?;
        if rng.random_range(0..5_000) == 0 {
            writeln!(labels, "{{\"event_id\":\"e{written}\",\"event_type\":\"REFUND\",\"reason\":\"Customer request\",\"value\":{amount}}}")?;
        }
    }
    history.flush()?;
    labels.flush()
}

#[allow(clippy::too_many_arguments)]
fn write_event(
    out: &mut impl Write,
    id: &str,
    time: i64,
    customer: &str,
    card: &str,
    amount: u64,
    ip: &str,
    device: &str,
    country: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{{\"event\":{{\"id\":\"{id}\",\"time\":{time},\"type\":\"purchase\"}},\"amount\":{amount},\"currency\":\"JPY\",\
\"customer\":{{\"id\":\"{customer}\"}},\"card\":{{\"hash\":\"{card}\",\"bin\":\"356600\",\"country\":\"{country}\"}},\
\"ip\":{{\"address\":\"{ip}\"}},\"device\":{{\"id\":\"{device}\"}},\"score\":{}}}",
        time % 100
    )
}
