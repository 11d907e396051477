//! Attaching scanned comments to the items they belong to, so the formatter
//! can print them back where a reader expects them.
//!
//! A comment belongs to the item that contains it (`inner`), else to the item
//! whose last line it ends (`trailing`), else to the next item (`leading`);
//! before `ruleset` it is a header comment, after the last item a footer
//! comment.

use crate::ast::{Comment, Comments, Ruleset};
use crate::span::Span;

/// Distributes `comments` (in source order) over the items of `rs`; `src` is
/// the text they were all read from.
pub fn attach(rs: &mut Ruleset, src: &str, comments: Vec<Comment>) {
    let items = item_spans(rs);
    for c in comments {
        if c.span.start < rs.span.start {
            rs.header_comments.push(c);
            continue;
        }
        let Some((index, place)) = place_of(&items, src, c.span) else {
            rs.footer_comments.push(c);
            continue;
        };
        // By ItemOrder the slot exists; should it not, the comment is still kept.
        let Some(slot) = comments_mut(rs).into_iter().nth(index) else {
            rs.footer_comments.push(c);
            continue;
        };
        match place {
            Place::Inner => slot.inner.push(c),
            Place::Trailing if slot.trailing.is_none() => slot.trailing = Some(c),
            Place::Trailing => slot.inner.push(c),
            Place::Leading => slot.leading.push(c),
        }
    }
}

enum Place {
    Inner,
    Trailing,
    Leading,
}

fn place_of(items: &[Span], src: &str, c: Span) -> Option<(usize, Place)> {
    if let Some(i) = items.iter().position(|s| s.start <= c.start && c.start < s.end) {
        return Some((i, Place::Inner));
    }
    let previous = items
        .iter()
        .enumerate()
        .filter(|(_, s)| s.end <= c.start)
        .max_by_key(|(_, s)| s.end);
    if let Some((i, s)) = previous {
        let gap = src.get(s.end as usize..c.start as usize).unwrap_or("\n");
        if !gap.contains('\n') {
            return Some((i, Place::Trailing));
        }
    }
    items
        .iter()
        .enumerate()
        .filter(|(_, s)| s.start > c.start)
        .min_by_key(|(_, s)| s.start)
        .map(|(i, _)| (i, Place::Leading))
}

/// Every item's span, in the order [`comments_mut`] lists them.
fn item_spans(rs: &Ruleset) -> Vec<Span> {
    let mut spans = Vec::new();
    spans.extend(rs.description.iter().map(|d| d.span));
    spans.extend(rs.outcomes.iter().map(|o| o.span));
    spans.extend(rs.fields.iter().map(|f| f.span));
    spans.extend(rs.lists.iter().map(|l| l.span));
    spans.extend(rs.velocities.iter().map(|v| v.span));
    spans.extend(rs.rules.iter().map(|r| r.span));
    spans
}

/// Every item's comments, in [`item_spans`] order.
///
/// INVARIANT (ItemOrder): the groups come in the same order as in
/// `item_spans`, so an index from one names the same item in the other.
fn comments_mut(rs: &mut Ruleset) -> Vec<&mut Comments> {
    let mut all: Vec<&mut Comments> = Vec::new();
    all.extend(rs.description.iter_mut().map(|d| &mut d.comments));
    all.extend(rs.outcomes.iter_mut().map(|o| &mut o.comments));
    all.extend(rs.fields.iter_mut().map(|f| &mut f.comments));
    all.extend(rs.lists.iter_mut().map(|l| &mut l.comments));
    all.extend(rs.velocities.iter_mut().map(|v| &mut v.comments));
    all.extend(rs.rules.iter_mut().map(|r| &mut r.comments));
    all
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use crate::format::format_ruleset;
    use crate::parse_ruleset;

    #[test]
    fn a_comment_ending_in_spaces_belongs_to_the_item_it_stands_before() {
        // Trailing spaces (and tabs) after a whole-line comment used to
        // leave the comment inside the item above it, so formatting moved it
        // above that item's line, and formatting again moved it once more.
        for ending in [" ", "  \t", "\t"] {
            let src = format!(
                "ruleset r {{\n  velocity a = count() by card.hash over 1h\n  velocity b = count() by card.hash over 2h\n\n  // block{ending}\n // next\n  rule x -> block when a > 1\n}}\n"
            );
            let rs = parse_ruleset(&src).unwrap();
            assert!(rs.velocities.iter().all(|v| v.comments.inner.is_empty() && v.comments.leading.is_empty()), "{ending:?}");
            let leading: Vec<&str> = rs.rules[0].comments.leading.iter().map(|c| c.text.as_str()).collect();
            assert_eq!(leading, [format!("// block{ending}").as_str(), "// next"]);
            let once = format_ruleset(&rs);
            let back = parse_ruleset(&once).unwrap();
            assert_eq!((&back.velocities, &back.rules), (&rs.velocities, &rs.rules), "\n{once}");
            assert_eq!(format_ruleset(&back), once);
        }
    }
}
