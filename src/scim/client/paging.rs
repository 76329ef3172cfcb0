//! The bookkeeping of reading a paged list: which pages to ask for and when to stop.
//!
//! Asana does not document paging (§1.5 of the API reference): the server may honour
//! `startIndex`/`count`, cap the page size, ignore paging and return everything on every page,
//! or omit `totalResults`. The [`Collector`] keeps the first copy of each id and tells the
//! caller when a page added nothing new, so a server that ignores paging cannot make the
//! client loop. No IO here; `read.rs` fetches the pages.

use std::collections::HashSet;

use super::resource::{ListPage, Resource};

/// The most pages one listing may take. At 100 per page that is ten million resources; a
/// server that keeps inventing ids stops here instead of running forever.
pub(crate) const MAX_PAGES: u64 = 100_000;

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
    pub(crate) fn from_page(
        page: ListPage,
        keep: &dyn Fn(Resource) -> T,
    ) -> Result<Kept<T>, String> {
        let items = page
            .resources
            .into_iter()
            .map(|r| {
                let id = r
                    .id()
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
    /// The largest `totalResults` any page announced.
    total: Option<u64>,
    pub(crate) duplicates: u64,
}

impl<T> Default for Collector<T> {
    fn default() -> Self {
        Collector {
            seen: HashSet::new(),
            items: Vec::new(),
            total: None,
            duplicates: 0,
        }
    }
}

impl<T> Collector<T> {
    /// Adds a page's resources; returns how many were new.
    pub(crate) fn add(&mut self, page: Kept<T>) -> usize {
        if let Some(t) = page.total {
            self.total = Some(self.total.map_or(t, |old| old.max(t)));
        }
        let mut new = 0;
        for (id, item) in page.items {
            if self.seen.insert(id) {
                self.items.push(item);
                new += 1;
            } else {
                self.duplicates += 1;
            }
        }
        new
    }

    pub(crate) fn total(&self) -> Option<u64> {
        self.total
    }

    pub(crate) fn len(&self) -> u64 {
        self.items.len() as u64
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

/// The `startIndex` of every page after the first, for `total` resources served `step` to a
/// page. Bounded by [`MAX_PAGES`].
pub(crate) fn remaining_starts(total: u64, step: u64) -> Vec<u64> {
    let step = step.max(1);
    (1..MAX_PAGES)
        .map(|page| 1 + page * step)
        .take_while(|start| *start <= total)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn starts_cover_the_rest() {
        assert_eq!(remaining_starts(250, 100), vec![101, 201]);
        assert_eq!(remaining_starts(200, 100), vec![101]);
        assert_eq!(remaining_starts(100, 100), Vec::<u64>::new());
        assert_eq!(remaining_starts(7, 3), vec![4, 7]);
        assert_eq!(remaining_starts(5, 0), vec![2, 3, 4, 5]);
        assert_eq!(remaining_starts(u64::MAX, 1).len() as u64, MAX_PAGES - 1);
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
