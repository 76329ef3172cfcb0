//! The bookkeeping of reading a paged list: which pages to ask for and when to stop.
//!
//! Asana does not document paging (§1.5 of the API reference): the server may honour
//! `startIndex`/`count`, cap the page size, ignore paging and return everything on every page,
//! or omit `totalResults`. The [`Collector`] keeps the first copy of each id and tells the
//! caller when a page added nothing new, so a server that ignores paging cannot make the
//! client loop. No IO here; `read.rs` fetches the pages.
//!
//! A server that lies cannot keep a read going either: [`Collector::check`] stops a list whose
//! `totalResults` is beyond [`MAX_RESOURCES`], that grows past that maximum or
//! [`MAX_PAGES`], whose pages run past its own `totalResults` (more resources, more pages, or
//! a `totalResults` that keeps growing) or keep repeating ids, each by more than a small
//! [`slack`]. The client also gives each list a deadline (`ClientConfig::read_deadline`).

use std::fmt;
use std::time::Duration;

use roster_core::hash::{HashSet, HashSetExt};

use super::resource::{ListPage, Listed};
use crate::retry::plain_duration;

/// The most resources one list may hold: ten times the largest organisation roster is meant
/// for. A server that reports or sends more is refused, not read for hours.
pub const MAX_RESOURCES: u64 = 1_000_000;

/// The most pages one list may take (two million resources at 100 a page, about 13 minutes at
/// Asana's 1,500 requests a minute).
pub const MAX_PAGES: u64 = 20_000;

/// How far a server may stray from its own counts before a list is refused: users created or
/// removed while a list is read move a few resources between pages, a broken or hostile server
/// keeps going. 5, plus 1% of `n`.
pub fn slack(n: u64) -> u64 {
    5 + n / 100
}

/// Why a list was stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStop {
    /// The server's `totalResults` is beyond [`MAX_RESOURCES`].
    TooManyReported { reported: u64 },
    /// More than [`MAX_RESOURCES`] different resources, without a `totalResults` to stop at.
    TooManyResources,
    /// More than [`MAX_PAGES`] pages.
    TooManyPages,
    /// `totalResults` grew by more than the slack while the list was read.
    TotalGrew { from: u64, to: u64 },
    /// More different resources than `totalResults` said, by more than the slack.
    PastTotal { got: u64, total: u64 },
    /// More pages than `totalResults` at the server's page size takes, by more than the slack.
    PagesPastTotal { total: u64, step: u64 },
    /// Pages that brought new resources also repeated this many already read.
    RepeatedIds { repeats: u64 },
    /// The list was not read within the deadline.
    Deadline { limit: Duration },
}

impl fmt::Display for ListStop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ListStop::TooManyReported { reported } => write!(
                f,
                "the server reports {} resources (totalResults), more than the {} roster reads \
                 in one list",
                grouped(reported),
                grouped(MAX_RESOURCES)
            ),
            ListStop::TooManyResources => write!(
                f,
                "the server keeps sending new resources past the {} roster reads in one list, \
                 without a totalResults",
                grouped(MAX_RESOURCES)
            ),
            ListStop::TooManyPages => write!(
                f,
                "the list takes more than the {} pages roster reads in one list",
                grouped(MAX_PAGES)
            ),
            ListStop::TotalGrew { from, to } => write!(
                f,
                "the server's totalResults grew from {} to {} while the list was read",
                grouped(from),
                grouped(to)
            ),
            ListStop::PastTotal { got, total } => write!(
                f,
                "the server sent {} different resources but reports {} (totalResults)",
                grouped(got),
                grouped(total)
            ),
            ListStop::PagesPastTotal { total, step } => write!(
                f,
                "the server's pages run past its totalResults: {} resources at {} a page take \
                 {} pages",
                grouped(total),
                grouped(step),
                grouped(total.div_ceil(step.max(1)))
            ),
            ListStop::RepeatedIds { repeats } => write!(
                f,
                "the server's pages repeat resources already read ({} repeats)",
                grouped(repeats)
            ),
            ListStop::Deadline { limit } => write!(
                f,
                "the list was not read within {} (the deadline for one list)",
                plain_duration(limit)
            ),
        }
    }
}

/// `1234567` as `1,234,567`.
pub(crate) fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// One page's resources as the caller keeps them (see [`Kept::from_page`]), each with its id.
#[derive(Debug)]
pub(crate) struct Kept<T> {
    pub(crate) items: Vec<(String, T)>,
    pub(crate) total: Option<u64>,
}

impl<T> Kept<T> {
    /// Passes each resource of `page` through `keep`, as soon as the page is read, so that a
    /// caller keeping less than the whole parsed resource never holds every parsed resource
    /// at once (100,000 parsed users take about 400 MB). A resource without an id is an
    /// error: it could not be matched to a declared user, and dropping it silently would make
    /// the plan create a duplicate.
    pub(crate) fn from_page<R: Listed>(
        page: ListPage<R>,
        keep: &dyn Fn(R) -> T,
    ) -> Result<Kept<T>, String> {
        let items = page
            .resources
            .into_iter()
            .map(|r| {
                let id = r
                    .listed_id()
                    .ok_or_else(|| "a listed resource has no `id`".to_string())?;
                Ok((id, keep(r)))
            })
            .collect::<Result<_, String>>()?;
        Ok(Kept {
            items,
            total: page.total_results,
        })
    }
}

/// Resources collected so far, first copy of each id kept, in the order first seen.
#[derive(Debug)]
pub(crate) struct Collector<T> {
    seen: HashSet<String>,
    items: Vec<T>,
    /// The first `totalResults` a page announced, and the largest.
    first_total: Option<u64>,
    total: Option<u64>,
    /// The resources on the first page: the server's page size.
    step: Option<u64>,
    pages: u64,
    pub(crate) duplicates: u64,
    /// Duplicates on pages that also brought new resources (a page of nothing but repeats ends
    /// the list instead).
    repeats: u64,
}

impl<T> Default for Collector<T> {
    fn default() -> Self {
        Collector {
            seen: HashSet::new(),
            items: Vec::new(),
            first_total: None,
            total: None,
            step: None,
            pages: 0,
            duplicates: 0,
            repeats: 0,
        }
    }
}

impl<T> Collector<T> {
    /// Adds a page's resources; returns how many were new.
    pub(crate) fn add(&mut self, page: Kept<T>) -> usize {
        self.pages += 1;
        self.step.get_or_insert(page.items.len() as u64);
        if let Some(t) = page.total {
            if self.first_total.is_none() && t <= MAX_RESOURCES {
                // Sized once for the list announced: growing the table as 100,000 ids arrive
                // rehashes it many times. A list announced as longer than roster reads is
                // refused by `check`, so it gets no table.
                self.seen
                    .reserve((t as usize).saturating_sub(self.seen.len()));
            }
            self.first_total.get_or_insert(t);
            self.total = Some(self.total.map_or(t, |old| old.max(t)));
        }
        let (mut new, mut repeated) = (0, 0);
        for (id, item) in page.items {
            if self.seen.insert(id) {
                self.items.push(item);
                new += 1;
            } else {
                repeated += 1;
            }
        }
        self.duplicates += repeated;
        if new > 0 {
            self.repeats += repeated;
        }
        new
    }

    /// Whether the list so far is one a well-behaved server could send; see the module
    /// comment.
    pub(crate) fn check(&self) -> Result<(), ListStop> {
        let len = self.len();
        if let Some(reported) = self.total
            && reported > MAX_RESOURCES
        {
            return Err(ListStop::TooManyReported { reported });
        }
        if len > MAX_RESOURCES {
            return Err(ListStop::TooManyResources);
        }
        if self.pages > MAX_PAGES {
            return Err(ListStop::TooManyPages);
        }
        if let (Some(from), Some(to)) = (self.first_total, self.total)
            && to > from + slack(from)
        {
            return Err(ListStop::TotalGrew { from, to });
        }
        if let Some(total) = self.total {
            if len > total + slack(total) {
                return Err(ListStop::PastTotal { got: len, total });
            }
            let step = self.step.unwrap_or(0).max(1);
            let needed = total.div_ceil(step).max(1);
            if self.pages > needed + slack(needed) {
                return Err(ListStop::PagesPastTotal { total, step });
            }
        }
        if self.repeats > slack(len) {
            return Err(ListStop::RepeatedIds {
                repeats: self.repeats,
            });
        }
        Ok(())
    }

    pub(crate) fn total(&self) -> Option<u64> {
        self.total
    }

    pub(crate) fn len(&self) -> u64 {
        self.items.len() as u64
    }

    pub(crate) fn pages(&self) -> u64 {
        self.pages
    }

    /// True once `totalResults` is known and reached.
    pub(crate) fn complete(&self) -> bool {
        self.total.is_some_and(|t| self.len() >= t)
    }

    /// The resources, or the shortfall `(got, expected)` when fewer than `totalResults` arrived.
    pub(crate) fn finish(self) -> Result<Vec<T>, (u64, u64)> {
        match self.total {
            Some(t) if self.len() < t => Err((self.len(), t)),
            _ => Ok(self.items),
        }
    }
}

/// The `startIndex` of the next `at_most` pages from `next`, for `total` resources served
/// `step` to a page: the pages read at once while `totalResults` says there are more.
pub(crate) fn window(next: u64, step: u64, total: u64, at_most: usize) -> Vec<u64> {
    let step = step.max(1);
    (0..at_most as u64)
        .map_while(|page| next.checked_add(page.checked_mul(step)?))
        .take_while(|start| *start <= total)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scim::client::Resource;
    use serde_json::json;

    fn list_page(ids: &[u64], total: Option<u64>) -> ListPage {
        ListPage {
            resources: ids.iter().map(|i| Resource(json!({"id": i}))).collect(),
            total_results: total,
            ..ListPage::default()
        }
    }

    fn page(ids: &[u64], total: Option<u64>) -> Kept<Resource> {
        Kept::from_page(list_page(ids, total), &|r| r).unwrap()
    }

    #[test]
    fn windows_cover_the_rest_a_few_pages_at_a_time() {
        assert_eq!(window(101, 100, 250, 50), vec![101, 201]);
        assert_eq!(window(101, 100, 200, 50), vec![101]);
        assert_eq!(window(101, 100, 100, 50), Vec::<u64>::new());
        assert_eq!(window(4, 3, 7, 50), vec![4, 7]);
        assert_eq!(window(2, 0, 5, 50), vec![2, 3, 4, 5]);
        assert_eq!(window(2, 1, u64::MAX, 50).len(), 50);
        assert_eq!(
            window(u64::MAX - 1, 1, u64::MAX, 50),
            vec![u64::MAX - 1, u64::MAX]
        );
        assert_eq!(window(u64::MAX - 1, 100, u64::MAX, 50), vec![u64::MAX - 1]);
    }

    fn checked(pages: &[(&[u64], Option<u64>)]) -> Result<(), ListStop> {
        let mut c = Collector::default();
        for (ids, total) in pages {
            c.add(page(ids, *total));
            c.check()?;
        }
        Ok(())
    }

    fn range(from: u64, to: u64) -> Vec<u64> {
        (from..=to).collect()
    }

    #[test]
    fn item9_lists_that_do_not_add_up_are_stopped() {
        let p1 = range(1, 100);
        let p2 = range(101, 200);
        let p3 = range(201, 300);
        // Honest lists, with a user created while they were read.
        let last = range(201, 251);
        assert_eq!(
            checked(&[(&p1, Some(250)), (&p2, Some(251)), (&last, Some(251))]),
            Ok(())
        );
        assert_eq!(checked(&[(&p1, None), (&p2, None), (&p3, None)]), Ok(()));
        // A totalResults no organisation has.
        assert_eq!(
            checked(&[(&p1, Some(1_000_000_000_000))]),
            Err(ListStop::TooManyReported {
                reported: 1_000_000_000_000
            })
        );
        assert_eq!(checked(&[(&p1, Some(MAX_RESOURCES))]), Ok(()));
        // More than it said.
        assert_eq!(
            checked(&[(&p1, Some(250)), (&p2, Some(250)), (&p3, Some(250))]),
            Err(ListStop::PastTotal {
                got: 300,
                total: 250
            })
        );
        // A totalResults that keeps ahead of what is read.
        assert_eq!(
            checked(&[(&p1, Some(150)), (&p2, Some(250)), (&p3, Some(350))]),
            Err(ListStop::TotalGrew { from: 150, to: 250 })
        );
        // A window over the list: one new id a page, the rest repeats.
        let slid: Vec<Vec<u64>> = (0..3).map(|k| range(1 + k, 100 + k)).collect();
        assert_eq!(
            checked(&[(&slid[0], None), (&slid[1], None), (&slid[2], None)]),
            Err(ListStop::RepeatedIds { repeats: 99 })
        );
        // Pages that trickle: one resource each, for a total that needs 3 pages of 100.
        let mut pages: Vec<(Vec<u64>, Option<u64>)> = vec![(p1.clone(), Some(300))];
        pages.extend((101..=110).map(|i| (vec![i], Some(300))));
        let pages: Vec<(&[u64], Option<u64>)> =
            pages.iter().map(|(ids, t)| (&ids[..], *t)).collect();
        assert_eq!(
            checked(&pages),
            Err(ListStop::PagesPastTotal {
                total: 300,
                step: 100
            })
        );
    }

    #[test]
    fn stops_read_as_plain_words() {
        assert_eq!(
            ListStop::TooManyReported {
                reported: 1_000_000_000_000
            }
            .to_string(),
            "the server reports 1,000,000,000,000 resources (totalResults), more than the \
             1,000,000 roster reads in one list"
        );
        assert_eq!(
            ListStop::Deadline {
                limit: Duration::from_secs(900)
            }
            .to_string(),
            "the list was not read within 15 minutes (the deadline for one list)"
        );
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
    }

    #[test]
    fn duplicates_are_dropped_and_counted() {
        let mut c = Collector::default();
        assert_eq!(c.add(page(&[1, 2, 3], Some(5))), 3);
        assert_eq!(c.add(page(&[3, 4], Some(5))), 1);
        assert!(!c.complete());
        assert_eq!(c.add(page(&[1, 2, 3, 4], None)), 0);
        assert_eq!(c.add(page(&[5], Some(5))), 1);
        assert!(c.complete());
        assert_eq!(c.duplicates, 5);
        let ids: Vec<_> = c
            .finish()
            .unwrap()
            .iter()
            .map(|r| r.id().unwrap())
            .collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    }

    #[test]
    fn string_and_number_ids_are_the_same_id() {
        let mut c = Collector::default();
        c.add(page(&[7], None));
        let again = ListPage {
            resources: vec![Resource(json!({"id": "7"}))],
            ..ListPage::default()
        };
        assert_eq!(c.add(Kept::from_page(again, &|r| r).unwrap()), 0);
    }

    #[test]
    fn shortfall_is_reported() {
        let mut c = Collector::default();
        c.add(page(&[1, 2], Some(3)));
        assert_eq!(c.finish().unwrap_err(), (2, 3));
    }

    #[test]
    fn missing_id_is_an_error() {
        let p = ListPage {
            resources: vec![Resource(json!({"userName": "a@x.io"}))],
            ..ListPage::default()
        };
        assert!(Kept::from_page(p, &|r| r).is_err());
    }

    #[test]
    fn pages_keep_what_the_caller_keeps() {
        let mut c = Collector::default();
        let keep = |r: Resource| r.id().map(|id| id.len());
        c.add(Kept::from_page(list_page(&[1, 22, 333], Some(4)), &keep).unwrap());
        c.add(Kept::from_page(list_page(&[22, 4444], Some(4)), &keep).unwrap());
        assert_eq!(c.duplicates, 1);
        assert_eq!(c.finish().unwrap(), [Some(1), Some(2), Some(3), Some(4)]);
    }
}
