//! The example default rule set (`examples/default.kensa`, 29 rules, 13
//! lists, 9 velocities) written by hand in Rust: the baseline the
//! `default_ruleset` bench times the engine against. It reads the same
//! decoded [`Record`], the same loaded list structures and the same
//! velocity store (keys, lanes, windows and aggregates of
//! `kensa_runtime`), so the difference it measures is the engine's own
//! work: evaluating conditions, its velocity bookkeeping and the decision.
//!
//! Written as a developer would for this one rule set: field slots and
//! lists resolved once by name, the Asia-Pacific set as a `match`, each
//! rule as plain Rust in which a missing value fails the condition (what
//! three-valued logic gives for a rule that matches only when true).

use kensa_compiler::ir::{Program, SetData};
use kensa_compiler::schema::FieldId;
use kensa_compiler::value::Value;
use kensa_dsl::ast::AggKind;
use kensa_runtime::store::{HeldKeys, KeyRequest, SeriesGroup, VelocityStore};
use kensa_runtime::velocity::{aggregate, KeyRef, ValueSource, Window};
use kensa_runtime::Record;
use smallvec::SmallVec;
use std::sync::Arc;

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// Japan time, where the merchant trades.
const JST: i64 = 9 * HOUR;

const FORCE_ALLOW: &str = "force_allow";
const BLOCK: &str = "block";
const ALERT: &str = "alert";

/// A hand-written decision: the outcome and the matched rules, ranked as
/// the engine ranks them.
#[derive(Debug, PartialEq, Eq)]
pub struct HandDecision {
    /// The outcome of the first matched rule, or `none`.
    pub outcome: &'static str,
    /// The matched rules' ids, by precedence, then priority, then source
    /// order.
    pub matched: Vec<&'static str>,
}

/// The slots of the fields the rules read.
struct Fields {
    event_time: FieldId,
    event_type: FieldId,
    amount: FieldId,
    score: FieldId,
    customer: FieldId,
    device: FieldId,
    card_hash: FieldId,
    card_bin: FieldId,
    card_country: FieldId,
    ip: FieldId,
    ip_country: FieldId,
    browser_language: FieldId,
    items_id: FieldId,
    items_category: FieldId,
    campaign: FieldId,
}

/// The lists, loaded as the engine loads them.
struct Lists {
    ip_block: Arc<SetData>,
    card_block: Arc<SetData>,
    customer_block: Arc<SetData>,
    card_country_block: Arc<SetData>,
    language_block: Arc<SetData>,
    item_block: Arc<SetData>,
    category_block: Arc<SetData>,
    campaign_block: Arc<SetData>,
    ip_country_block: Arc<SetData>,
    bin_block: Arc<SetData>,
    ip_allow: Arc<SetData>,
    card_allow: Arc<SetData>,
    customer_allow: Arc<SetData>,
}

/// The four key groups and their lanes: what each key records.
struct State {
    store: VelocityStore,
    /// By IP: card hashes over 1 h.
    ip: Arc<SeriesGroup>,
    ip_cards: usize,
    /// By customer: card hashes over 1 h (also counted over 60 s), amounts
    /// over 365 days (averaged over 90 days, the last amount and its time).
    customer: Arc<SeriesGroup>,
    customer_cards: usize,
    customer_amounts: usize,
    /// By device: card hashes over 1 h.
    device: Arc<SeriesGroup>,
    device_cards: usize,
    /// By card: customers over 1 h (also counted over 60 s).
    card: Arc<SeriesGroup>,
    card_customers: usize,
}

/// The default rule set, by hand.
pub struct HandDefault {
    fields: Fields,
    lists: Lists,
    state: State,
}

impl HandDefault {
    /// Resolves the fields and lists of the default rule set's `program`
    /// (lists in its order, as `kensa_runtime::lists::load_dir` returns
    /// them); `None` when one is missing.
    pub fn new(program: &Program, lists: &[Arc<SetData>]) -> Option<HandDefault> {
        let field = |path: &str| program.schema.lookup(path).map(|(f, _)| f);
        let list = |name: &str| program.lists.iter().position(|l| l.name == name).and_then(|i| lists.get(i)).cloned();
        let fields = Fields {
            event_time: field("event.time")?,
            event_type: field("event.type")?,
            amount: field("amount")?,
            score: field("score")?,
            customer: field("customer.id")?,
            device: field("device.id")?,
            card_hash: field("card.hash")?,
            card_bin: field("card.bin")?,
            card_country: field("card.country")?,
            ip: field("ip.address")?,
            ip_country: field("ip.country")?,
            browser_language: field("browser.language")?,
            items_id: field("items.id")?,
            items_category: field("items.category")?,
            campaign: field("campaign")?,
        };
        let lists = Lists {
            ip_block: list("ip_block")?,
            card_block: list("card_block")?,
            customer_block: list("customer_block")?,
            card_country_block: list("card_country_block")?,
            language_block: list("language_block")?,
            item_block: list("item_block")?,
            category_block: list("category_block")?,
            campaign_block: list("campaign_block")?,
            ip_country_block: list("ip_country_block")?,
            bin_block: list("bin_block")?,
            ip_allow: list("ip_allow")?,
            card_allow: list("card_allow")?,
            customer_allow: list("customer_allow")?,
        };
        let store = VelocityStore::new();
        let group = |path: &str| store.group(&[path.to_string()]);
        let (ip, customer, device, card) = (group("ip.address"), group("customer.id"), group("device.id"), group("card.hash"));
        let state = State {
            ip_cards: ip.lane("card hashes", HOUR, HOUR).0,
            customer_cards: customer.lane("card hashes", HOUR, HOUR).0,
            customer_amounts: customer.lane("amounts", 365 * DAY, 365 * DAY).0,
            device_cards: device.lane("card hashes", HOUR, HOUR).0,
            card_customers: card.lane("customers", HOUR, HOUR).0,
            ip,
            customer,
            device,
            card,
            store,
        };
        Some(HandDefault { fields, lists, state })
    }

    /// Forgets every recorded event.
    pub fn clear(&self) {
        self.state.store.clear();
    }

    /// Decides one record and records it into the windows.
    pub fn decide(&mut self, r: &Record) -> HandDecision {
        let v = self.velocities(r);
        let (f, l) = (&self.fields, &self.lists);
        let amount = number(r.get(f.amount));
        let time = match r.get(f.event_time) {
            Value::Timestamp(t) => Some(*t),
            _ => None,
        };
        let country = match r.get(f.card_country) {
            Value::Str(c) => Some(&**c),
            _ => None,
        };
        let apac = country.map(|c| {
            matches!(c, "JPN" | "KOR" | "CHN" | "TWN" | "HKG" | "SGP" | "AUS" | "NZL" | "THA" | "MYS" | "IDN" | "PHL" | "VNM" | "IND")
        });
        let hour = time.and_then(|t| t.checked_add(JST)).map(|t| t.rem_euclid(DAY) / HOUR);
        let at_least = |x: Option<f64>, bound: f64| x.is_some_and(|x| x >= bound);
        let event_type = |name: &str| matches!(r.get(f.event_type), Value::Str(s) if &**s == name);

        let mut matched = Vec::new();
        let mut outcome = "none";
        let mut rule = |id: &'static str, rule_outcome: &'static str, hit: bool| {
            if hit {
                if matched.is_empty() {
                    outcome = rule_outcome;
                }
                matched.push(id);
            }
        };
        // force_allow, in source order.
        let cc_check = amount == Some(1.0) && event_type("card_check");
        let cc_update = amount == Some(0.0) && event_type("card_update");
        rule("ipaddress_AllowList", FORCE_ALLOW, listed(&l.ip_allow, r.get(f.ip)));
        rule("CardHash_AllowList", FORCE_ALLOW, listed(&l.card_allow, r.get(f.card_hash)));
        rule("CustCode_AllowList", FORCE_ALLOW, listed(&l.customer_allow, r.get(f.customer)));
        rule("Cc_EnableCheck1", FORCE_ALLOW, cc_check);
        rule("Cc_EnableCheck3", FORCE_ALLOW, cc_update);
        // block: priorities 1 to 4, then source order.
        rule("ipaddress_BlockList", BLOCK, listed(&l.ip_block, r.get(f.ip)));
        rule("ip_OverTimes", BLOCK, number(&v.ip_cards_1h).is_some_and(|n| n > 5.0));
        rule("custcode_OverTimes", BLOCK, number(&v.cust_cards_1h).is_some_and(|n| n > 3.0));
        rule("sbps_id_OverTimes", BLOCK, number(&v.device_cards_1h).is_some_and(|n| n > 3.0));
        rule("CardHash_BlockList", BLOCK, listed(&l.card_block, r.get(f.card_hash)));
        rule("CustCode_BlockList", BLOCK, listed(&l.customer_block, r.get(f.customer)));
        rule("CardCountry_BlockList", BLOCK, listed(&l.card_country_block, r.get(f.card_country)));
        rule("BrowserLanguage_BlockList", BLOCK, listed(&l.language_block, r.get(f.browser_language)));
        rule("ItemId_BlockList", BLOCK, listed(&l.item_block, r.get(f.items_id)));
        rule("ItemCategory_BlockList", BLOCK, listed(&l.category_block, r.get(f.items_category)));
        rule("Campaign_BlockList", BLOCK, listed(&l.campaign_block, r.get(f.campaign)));
        rule("IpCountry_BlockList", BLOCK, listed(&l.ip_country_block, r.get(f.ip_country)));
        rule("Bin_BlockList", BLOCK, listed(&l.bin_block, r.get(f.card_bin)));
        // alert, in source order. The score is read only when no matched
        // rule skips scoring.
        let score = if cc_check || cc_update { None } else { number(r.get(f.score)) };
        rule("Score_High", ALERT, at_least(score, 86.0));
        rule("CardCountry_Ap_Amount", ALERT, apac == Some(true) && at_least(amount, 100_000.0));
        rule("CardCountry_ApOther_Amount", ALERT, apac == Some(false) && at_least(amount, 50_000.0));
        rule("CardCountry_Ap_Time", ALERT, apac == Some(true) && hour.is_some_and(|h| (1..=5).contains(&h)));
        rule("CardCountry_ApOther_Time", ALERT, apac == Some(false) && hour.is_some_and(|h| (10..=14).contains(&h)));
        rule("amount", ALERT, at_least(amount, 300_000.0));
        rule("CcNumber_OverTimes_1h", ALERT, at_least(number(&v.card_customers_1h), 3.0));
        rule("CcNumber_OverTimes_60s", ALERT, at_least(number(&v.card_tx_60s), 3.0));
        rule("CustCode_OverTimes_60s", ALERT, at_least(number(&v.cust_tx_60s), 3.0));
        let since_last = match (time, &v.cust_last_time) {
            (Some(t), Value::Timestamp(last)) => t.checked_sub(*last),
            _ => None,
        };
        let last_amount = number(&v.cust_last_amount);
        rule("LongTimeInterval", ALERT,
            since_last.is_some_and(|d| d >= 180 * DAY) && last_amount.is_some_and(|last| at_least(amount, last + 30_000.0)),
        );
        let average = number(&v.cust_avg_90d);
        rule("LargeAmount", ALERT, average.is_some_and(|a| at_least(amount, 3.0 * a)) && at_least(amount, 50_000.0));

        HandDecision { outcome, matched }
    }

    /// Reads every velocity of `r` and records `r` into the windows: the
    /// keys present (with the event's time) are held together, as the
    /// engine holds them.
    fn velocities(&mut self, r: &Record) -> Velocities {
        let (f, s) = (&self.fields, &self.state);
        let mut out = Velocities::default();
        let Value::Timestamp(t) = *r.get(f.event_time) else { return out };
        let card = r.get(f.card_hash);
        let customer = r.get(f.customer);
        let amount = r.get(f.amount);
        let groups: [&SeriesGroup; 4] = [&s.ip, &s.customer, &s.device, &s.card];
        let parts: [Option<[KeyRef<'_>; 1]>; 4] =
            [r.get(f.ip), customer, r.get(f.device), card].map(|v| KeyRef::of(v).map(|p| [p]));
        let mut requests: SmallVec<[KeyRequest<'_>; 4]> = SmallVec::new();
        let mut request_of = [None; 4];
        for (i, (group, key)) in groups.into_iter().zip(&parts).enumerate() {
            if let (Some(key), Some(slot)) = (key, request_of.get_mut(i)) {
                *slot = Some(requests.len());
                requests.push(KeyRequest { group, hash: group.hash(key), key, create: true });
            }
        }
        let Some(mut held) = HeldKeys::lock(&requests) else { return out };
        let [ip, cust, device, card_key] = request_of;
        if let Some(i) = ip {
            out.ip_cards_1h = cards_in_the_hour(&mut held, i, s.ip_cards, t, card);
        }
        if let Some(i) = cust {
            let cards = lane_of(&held, i, s.customer_cards);
            let amounts = lane_of(&held, i, s.customer_amounts);
            out.cust_cards_1h = aggregate(AggKind::CountDistinct, cards, t, HOUR, ValueSource::Recorded, Some(card));
            out.cust_tx_60s = aggregate(AggKind::Count, cards, t, MINUTE, ValueSource::Time, Some(&Value::Missing));
            out.cust_avg_90d = aggregate(AggKind::Avg, amounts, t, 90 * DAY, ValueSource::Recorded, None);
            out.cust_last_time = aggregate(AggKind::Last, amounts, t, 365 * DAY, ValueSource::Time, None);
            out.cust_last_amount = aggregate(AggKind::Last, amounts, t, 365 * DAY, ValueSource::Recorded, None);
            held.record(i, t, &[(s.customer_cards, HOUR, card), (s.customer_amounts, 365 * DAY, amount)]);
        }
        if let Some(i) = device {
            out.device_cards_1h = cards_in_the_hour(&mut held, i, s.device_cards, t, card);
        }
        if let Some(i) = card_key {
            let customers = lane_of(&held, i, s.card_customers);
            out.card_customers_1h = aggregate(AggKind::CountDistinct, customers, t, HOUR, ValueSource::Recorded, Some(customer));
            out.card_tx_60s = aggregate(AggKind::Count, customers, t, MINUTE, ValueSource::Time, Some(&Value::Missing));
            held.record(i, t, &[(s.card_customers, HOUR, customer)]);
        }
        out
    }
}

/// Lane `lane` of request `i`'s key.
fn lane_of<'h>(held: &'h HeldKeys<'_>, i: usize, lane: usize) -> Option<&'h Window> {
    held.windows(i)?.get(lane)
}

/// `count_distinct(card.hash)` over 1 h in lane `lane` of request `i`'s
/// key (the IP's or the device's), then the card recorded there.
fn cards_in_the_hour(held: &mut HeldKeys<'_>, i: usize, lane: usize, t: i64, card: &Value) -> Value {
    let cards = aggregate(AggKind::CountDistinct, lane_of(held, i, lane), t, HOUR, ValueSource::Recorded, Some(card));
    held.record(i, t, &[(lane, HOUR, card)]);
    cards
}

/// The velocities of one event; missing when its key is.
#[derive(Default)]
struct Velocities {
    ip_cards_1h: Value,
    cust_cards_1h: Value,
    device_cards_1h: Value,
    card_customers_1h: Value,
    card_tx_60s: Value,
    cust_tx_60s: Value,
    cust_avg_90d: Value,
    cust_last_time: Value,
    cust_last_amount: Value,
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// `v in list`, true only when known to be true.
fn listed(list: &SetData, v: &Value) -> bool {
    match (list, v) {
        (SetData::Strings(s), Value::Str(x)) => s.contains(x),
        (SetData::Strings(s), Value::StrList(xs)) => xs.iter().any(|x| s.contains(x)),
        (SetData::Prefixes(p), Value::Str(x)) => p.matches(x),
        (SetData::Ips(s), Value::Ip(a)) => s.contains(*a),
        _ => false,
    }
}
