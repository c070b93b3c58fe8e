//! Which clusters one worker of a fleet drills (`drill --all --shard I/N`): each cluster id
//! goes to the shard with the highest SHA-256 score of the id and the shard's number
//! (rendezvous, or highest-random-weight, hashing). The shares are disjoint and complete,
//! stable for a given N on every host and version, and when N changes only about 1/N of the
//! clusters move. The shard is given as `--shard I/N`, or read from the engine that runs the
//! worker: a Slurm job array, a Kubernetes Indexed Job, a Nomad allocation.

use std::fmt;

/// One worker's place among `count`: its `index`, from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
    /// Where it came from (`--shard`, `SLURM_ARRAY_TASK_ID`, ...), for what is printed.
    pub from: &'static str,
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} (from {})", self.index, self.count, self.from)
    }
}

/// Parses `--shard I/N`: I from 0 to N-1.
pub fn parse(s: &str) -> Result<Shard, String> {
    let bad = || {
        format!("{s:?} is not I/N (this worker's index from 0, and how many there are), e.g. 0/4")
    };
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (index, count): (u32, u32) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    checked(index, count, "--shard")
}

fn checked(index: u32, count: u32, from: &'static str) -> Result<Shard, String> {
    if count == 0 || index >= count {
        return Err(format!(
            "shard {index} of {count} (from {from}): the index runs from 0 to the count less one, and the count is at least 1"
        ));
    }
    Ok(Shard { index, count, from })
}

/// The shard the engine running this worker gives it, read through `var`: a Slurm job array
/// (`SLURM_ARRAY_TASK_ID` less `SLURM_ARRAY_TASK_MIN`, of `SLURM_ARRAY_TASK_COUNT`; a
/// contiguous array), a Kubernetes Indexed Job (`JOB_COMPLETION_INDEX`) or Nomad
/// (`NOMAD_ALLOC_INDEX`), these two with `count` (`--shard-count`, else
/// `$BRIDGEREST_SHARD_COUNT`: neither engine says how many there are). `Ok(None)`: none of
/// them.
pub fn from_engine(
    var: impl Fn(&str) -> Option<String>,
    count: Option<u32>,
) -> Result<Option<Shard>, String> {
    let num = |name: &'static str| -> Result<Option<u32>, String> {
        match var(name) {
            None => Ok(None),
            Some(v) => v.trim().parse().map(Some).map_err(|_| {
                format!(
                    "${name} = {:?} is not a number",
                    crate::text::excerpt(&v, 40)
                )
            }),
        }
    };
    if let Some(id) = num("SLURM_ARRAY_TASK_ID")? {
        let Some(n) = num("SLURM_ARRAY_TASK_COUNT")? else {
            return Err("$SLURM_ARRAY_TASK_ID is set but $SLURM_ARRAY_TASK_COUNT is not: run as a job array (sbatch --array=0-3), or give --shard I/N".into());
        };
        let min = num("SLURM_ARRAY_TASK_MIN")?.unwrap_or(0);
        let index = id.checked_sub(min).ok_or_else(|| {
            format!("$SLURM_ARRAY_TASK_ID {id} is below $SLURM_ARRAY_TASK_MIN {min}")
        })?;
        return checked(index, n, "SLURM_ARRAY_TASK_ID").map(Some).map_err(|e| {
            format!("{e}: a job array with gaps (--array=1,5,9) has no index per task; use a contiguous one (--array=0-3) or --shard I/N")
        });
    }
    for name in ["JOB_COMPLETION_INDEX", "NOMAD_ALLOC_INDEX"] {
        if let Some(index) = num(name)? {
            let count = match count {
                Some(c) => c,
                None => num("BRIDGEREST_SHARD_COUNT")?.ok_or_else(|| {
                    format!("${name} gives this worker's index but not how many workers there are: give --shard-count N (the Job's completions) or $BRIDGEREST_SHARD_COUNT")
                })?,
            };
            return checked(index, count, name).map(Some);
        }
    }
    Ok(None)
}

/// The score of cluster `id` for shard `k`: the first 8 bytes of SHA-256(id, 0, k).
fn score(id: &str, k: u32) -> u64 {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    ctx.update(id.as_bytes());
    ctx.update(&[0]);
    ctx.update(&k.to_be_bytes());
    let d = ctx.finish();
    let mut first = [0u8; 8];
    first.copy_from_slice(&d.as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// The shard (of `count`) cluster `id` belongs to.
pub fn owner(id: &str, count: u32) -> u32 {
    (0..count).max_by_key(|k| (score(id, *k), *k)).unwrap_or(0)
}

/// The ids of `ids` that are `shard`'s, in their order.
pub fn share(ids: &[String], shard: Shard) -> Vec<&String> {
    ids.iter()
        .filter(|id| owner(id, shard.count) == shard.index)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("cluster-{i:04}")).collect()
    }

    #[test]
    fn shares_are_disjoint_complete_even_and_move_little_when_the_count_changes() {
        let all = ids(2000);
        let owners = |n: u32| all.iter().map(|id| owner(id, n)).collect::<Vec<u32>>();
        let (four, five) = (owners(4), owners(5));
        // Each id in exactly one share, and shares of about a quarter.
        for k in 0..4 {
            let share = share(
                &all,
                Shard {
                    index: k,
                    count: 4,
                    from: "test",
                },
            );
            assert!(
                (400..600).contains(&share.len()),
                "shard {k}: {}",
                share.len()
            );
        }
        let total: usize = (0..4)
            .map(|k| {
                share(
                    &all,
                    Shard {
                        index: k,
                        count: 4,
                        from: "test",
                    },
                )
                .len()
            })
            .sum();
        assert_eq!(total, all.len());
        // From 4 to 5 workers, only those the new shard takes move (about a fifth).
        let moved: Vec<usize> = (0..all.len()).filter(|i| four[*i] != five[*i]).collect();
        assert!(
            moved.iter().all(|i| five[*i] == 4),
            "an id moved between old shards"
        );
        assert!((300..500).contains(&moved.len()), "{} moved", moved.len());
        // Stable: the same score on every host and version (pinned).
        assert_eq!(
            owner("rvf73a77ozfsvcttryebfrnlem", 4),
            owner("rvf73a77ozfsvcttryebfrnlem", 4)
        );
        // sha256(b"a\0" + (0).to_bytes(4, "big"))[:8], as Python's hashlib computes it.
        assert_eq!(score("a", 0), 0x5024_4b13_e193_07f6, "{:#x}", score("a", 0));
        assert_eq!(owner("anything", 1), 0);
    }

    #[test]
    fn the_shard_comes_from_the_flag_or_the_engine() {
        assert_eq!(
            parse("2/4").unwrap(),
            Shard {
                index: 2,
                count: 4,
                from: "--shard"
            }
        );
        for bad in ["4/4", "0/0", "1", "a/b", "-1/3"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        let slurm = env(&[
            ("SLURM_ARRAY_TASK_ID", "3"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert_eq!(
            from_engine(slurm, None).unwrap(),
            Some(Shard {
                index: 2,
                count: 3,
                from: "SLURM_ARRAY_TASK_ID"
            })
        );
        let gaps = env(&[
            ("SLURM_ARRAY_TASK_ID", "9"),
            ("SLURM_ARRAY_TASK_COUNT", "3"),
            ("SLURM_ARRAY_TASK_MIN", "1"),
        ]);
        assert!(from_engine(gaps, None).unwrap_err().contains("contiguous"));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "1")]);
        assert!(from_engine(k8s, None)
            .unwrap_err()
            .contains("--shard-count"));
        assert_eq!(
            from_engine(k8s, Some(3)).unwrap(),
            Some(Shard {
                index: 1,
                count: 3,
                from: "JOB_COMPLETION_INDEX"
            })
        );
        let nomad = env(&[("NOMAD_ALLOC_INDEX", "0"), ("BRIDGEREST_SHARD_COUNT", "2")]);
        assert_eq!(
            from_engine(nomad, None).unwrap(),
            Some(Shard {
                index: 0,
                count: 2,
                from: "NOMAD_ALLOC_INDEX"
            })
        );
        assert_eq!(from_engine(env(&[]), None).unwrap(), None);
    }
}
