//! The redo journal that makes a write-out all-or-nothing (docs/design.md, "The disk: nothing
//! lost").
//!
//! The journal is an ordinary file in the volume's root, `EURALI.JNL` (hidden and system, so that
//! Linux's tools list it only when asked; fsck.fat sees a file like any other), made by fatfs at
//! its first mount of a volume and never changed by the FAT engine: eurali's clients do not see
//! it. Its first sectors are the descriptor, the rest are 4 KiB slots, one cache block each.
//!
//! Ordered mode (as ext4's `data=ordered`): only metadata (the FAT, directories, the boot and
//! FS information sectors) goes through the journal; a file's data blocks go straight home
//! ([`crate::Cache::set_data_writes`]), and are flushed before the descriptor that commits the
//! metadata pointing at them. Data written into a cluster freed since the last write-out is
//! journaled like metadata: the committed volume may still give that cluster to another file.
//!
//! Between write-outs the volume's metadata sectors are never written: a metadata block the
//! cache must let go of while dirty goes to a slot instead ([`crate::Cache`]). A write-out
//! (`sync`, the periodic one, unmount, or the journal filling up) writes the dirty data blocks
//! home and flushes, puts every dirty metadata block in a slot and writes the descriptor
//! (which home block each slot holds and the checksum of each slot's bytes, with a checksum of
//! its own), flushes, writes the blocks home, flushes, and clears the descriptor (flushed with
//! the next write-out). A kill at any point leaves either no whole descriptor with whole slots
//! (the metadata is the last write-out's, untouched; new data only in clusters it holds free,
//! or written in place into a committed file's clusters) or a whole one, which the next mount
//! replays ([`recover`]) before the FAT engine reads anything. Replaying is idempotent: a kill
//! during the replay is replayed again, and an old descriptor whose clearing did not reach the
//! medium is either one whose slots no longer match (not replayed) or one that writes home
//! what is there already.

use std::vec::Vec;

use core::hash::Hasher;
use libeurali::proto::block::{BlockDevice, BlockError};

use crate::cache::{BLOCK, SECTOR};

/// The journal file's name (8.3, so one short directory entry).
pub const NAME: &str = "EURALI.JNL";
/// Its directory entry's name field.
const SHORT: &[u8; 11] = b"EURALI  JNL";
const MAGIC: &[u8; 8] = b"EURJNL01";
/// The descriptor's header: magic, slot count, checksum; then per slot its home block and the
/// checksum of its 4 KiB.
const HEADER: usize = 32;
const ENTRY: u64 = 16;
/// No block in this slot.
pub const EMPTY: u64 = u64::MAX;
const SECTORS_PER_SLOT: u64 = (BLOCK / SECTOR) as u64;
/// FAT attributes: hidden, system.
pub const ATTR_HIDDEN_SYSTEM: u8 = 0x02 | 0x04;

/// Where the journal is on the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Journal {
    /// The file's sectors in file order, as runs `(lba, sectors)`.
    runs: Vec<(u64, u64)>,
    /// Sectors of the descriptor at the file's start.
    desc: u64,
    /// 4 KiB slots after it.
    pub slots: u64,
    /// The byte offset of the file's directory entry on the device.
    pub entry: u64,
    /// The directory entry's attribute byte.
    pub attr: u8,
}

/// Sectors of the descriptor of a journal of `slots` slots.
fn desc_sectors(slots: u64) -> u64 {
    (HEADER as u64 + ENTRY * slots).div_ceil(SECTOR as u64)
}

/// The bytes of a journal file of `slots` slots.
pub fn file_bytes(slots: u64) -> u64 {
    (desc_sectors(slots) + slots * SECTORS_PER_SLOT) * SECTOR as u64
}

fn checksum(count: u64, homes: &[u8]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(MAGIC);
    h.write(&count.to_le_bytes());
    h.write(homes);
    h.finish()
}

/// The checksum of a slot's block, kept in the descriptor: a descriptor whose slots did not all
/// reach the medium (the device wrote them in another order before a kill) is not replayed.
pub fn block_sum(data: &[u8]) -> u64 {
    let mut h = fnv::FnvHasher::default();
    h.write(data);
    h.finish()
}

impl Journal {
    /// The device sector of the journal file's sector `at`.
    fn lba(&self, mut at: u64) -> Option<(u64, u64)> {
        for &(lba, n) in &self.runs {
            if at < n {
                return Some((lba + at, n - at));
            }
            at -= n;
        }
        None
    }

    /// Reads or writes the file's sectors from `at` (split where the file's clusters are not
    /// contiguous).
    fn io<D: BlockDevice>(
        &self,
        disk: &mut D,
        mut at: u64,
        buf: &mut [u8],
        write: bool,
    ) -> Result<(), BlockError> {
        let mut done = 0;
        while done < buf.len() {
            let (lba, left) = self.lba(at).ok_or(BlockError::OutOfRange)?;
            let n = ((buf.len() - done) / SECTOR).min(left as usize);
            let part = &mut buf[done..done + n * SECTOR];
            if write {
                disk.write(lba, part)?;
            } else {
                disk.read(lba, part)?;
            }
            done += n * SECTOR;
            at += n as u64;
        }
        Ok(())
    }

    /// Writes `data` (whole blocks) to the slots from `slot` on.
    pub fn write_slots<D: BlockDevice>(
        &self,
        disk: &mut D,
        slot: u64,
        data: &mut [u8],
    ) -> Result<(), BlockError> {
        self.io(disk, self.desc + slot * SECTORS_PER_SLOT, data, true)
    }

    /// Reads slot `slot` into `buf` (one block).
    pub fn read_slot<D: BlockDevice>(
        &self,
        disk: &mut D,
        slot: u64,
        buf: &mut [u8],
    ) -> Result<(), BlockError> {
        self.io(disk, self.desc + slot * SECTORS_PER_SLOT, buf, false)
    }

    /// Writes the descriptor: slot `i` holds home block `homes[i].0` ([`EMPTY`]: none), whose
    /// bytes' [`block_sum`] is `homes[i].1`.
    pub fn commit<D: BlockDevice>(
        &self,
        disk: &mut D,
        homes: &[(u64, u64)],
    ) -> Result<(), BlockError> {
        let mut d = std::vec![0u8; (desc_sectors(homes.len() as u64) as usize) * SECTOR];
        let mut list = Vec::with_capacity(homes.len() * ENTRY as usize);
        for (h, sum) in homes {
            list.extend_from_slice(&h.to_le_bytes());
            list.extend_from_slice(&sum.to_le_bytes());
        }
        let count = homes.len() as u64;
        d[..8].copy_from_slice(MAGIC);
        d[8..16].copy_from_slice(&count.to_le_bytes());
        d[16..24].copy_from_slice(&checksum(count, &list).to_le_bytes());
        d[HEADER..HEADER + list.len()].copy_from_slice(&list);
        self.io(disk, 0, &mut d, true)
    }

    /// Clears the descriptor (its first sector).
    pub fn clear<D: BlockDevice>(&self, disk: &mut D) -> Result<(), BlockError> {
        self.io(disk, 0, &mut [0u8; SECTOR], true)
    }

    /// The committed descriptor's home blocks and sums, if there is a whole one.
    fn committed<D: BlockDevice>(
        &self,
        disk: &mut D,
    ) -> Result<Option<Vec<(u64, u64)>>, BlockError> {
        let mut first = [0u8; SECTOR];
        self.io(disk, 0, &mut first, false)?;
        if &first[..8] != MAGIC {
            return Ok(None);
        }
        let count = u64::from_le_bytes(first[8..16].try_into().unwrap_or_default());
        if count == 0 || count > self.slots {
            return Ok(None);
        }
        let mut d = std::vec![0u8; desc_sectors(count) as usize * SECTOR];
        self.io(disk, 0, &mut d, false)?;
        let list = &d[HEADER..HEADER + (count * ENTRY) as usize];
        let sum = u64::from_le_bytes(d[16..24].try_into().unwrap_or_default());
        if checksum(count, list) != sum {
            return Ok(None);
        }
        let word = |b: &[u8]| u64::from_le_bytes(b.try_into().unwrap_or([0xff; 8]));
        Ok(Some(
            list.chunks_exact(ENTRY as usize)
                .map(|c| (word(&c[..8]), word(&c[8..])))
                .collect(),
        ))
    }
}

/// The geometry of a FAT volume, read from its boot sector (FAT16 and FAT32; `None` for
/// anything else, FAT12 included: too small a volume for a journal).
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    reserved: u64,
    fat_sectors: u64,
    /// FAT16's fixed root directory: its first sector and length; FAT32: its cluster.
    root: (u64, u64),
    root_cluster: u32,
    first_data: u64,
    per_cluster: u64,
    clusters: u64,
    fats: u64,
    fat32: bool,
    /// The device's sectors.
    sectors: u64,
}

fn read_sectors<D: BlockDevice>(disk: &mut D, lba: u64, n: u64) -> Option<Vec<u8>> {
    let mut b = std::vec![0u8; n as usize * SECTOR];
    disk.read(lba, &mut b).ok()?;
    Some(b)
}

impl Geometry {
    pub fn of<D: BlockDevice>(disk: &mut D) -> Option<Geometry> {
        let sectors = disk.info().sectors;
        let b = read_sectors(disk, 0, 1)?;
        let w = |at: usize| u16::from_le_bytes([b[at], b[at + 1]]) as u64;
        let d = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as u64;
        if b[510..512] != [0x55, 0xaa] || w(11) != SECTOR as u64 {
            return None;
        }
        let per_cluster = b[13] as u64;
        let reserved = w(14);
        let fats = b[16] as u64;
        let root_entries = w(17);
        let total = match w(19) {
            0 => d(32),
            t => t,
        };
        let fat_sectors = match w(22) {
            0 => d(36),
            f => f,
        };
        if per_cluster == 0 || reserved == 0 || fats == 0 || total > sectors {
            return None;
        }
        let root_sectors = (root_entries * 32).div_ceil(SECTOR as u64);
        let first_data = reserved + fats * fat_sectors + root_sectors;
        let clusters = total.checked_sub(first_data)? / per_cluster;
        let fat32 = match clusters {
            0..4085 => return None,
            4085..65525 => false,
            _ => true,
        };
        Some(Geometry {
            reserved,
            fat_sectors,
            root: (reserved + fats * fat_sectors, root_sectors),
            root_cluster: d(44) as u32,
            first_data,
            per_cluster,
            clusters,
            fats,
            fat32,
            sectors,
        })
    }

    /// The volume's layout, for the cache's ordered mode.
    pub fn layout(&self) -> crate::cache::Layout {
        let sector = SECTOR as u64;
        crate::cache::Layout {
            fat_start: self.reserved * sector,
            fat_bytes: self.fat_sectors * sector,
            fats: self.fats,
            width: if self.fat32 { 4 } else { 2 },
            data_start: self.first_data * sector,
            cluster_bytes: self.per_cluster * sector,
            clusters: self.clusters,
        }
    }

    fn cluster_lba(&self, c: u64) -> u64 {
        self.first_data + (c - 2) * self.per_cluster
    }

    /// The clusters of the chain from `first` (`None`: a damaged chain).
    fn chain<D: BlockDevice>(&self, disk: &mut D, first: u64) -> Option<Vec<u64>> {
        let mut out = Vec::new();
        let mut c = first;
        let width = if self.fat32 { 4 } else { 2 };
        let mut cached: Option<(u64, Vec<u8>)> = None;
        while (2..self.clusters + 2).contains(&c) {
            if out.len() as u64 > self.clusters {
                return None;
            }
            out.push(c);
            let byte = c * width;
            let sector = self.reserved + byte / SECTOR as u64;
            if sector >= self.reserved + self.fat_sectors {
                return None;
            }
            if cached.as_ref().map(|(s, _)| *s) != Some(sector) {
                cached = Some((sector, read_sectors(disk, sector, 1)?));
            }
            let s = &cached.as_ref()?.1;
            let at = (byte % SECTOR as u64) as usize;
            c = if self.fat32 {
                u32::from_le_bytes([s[at], s[at + 1], s[at + 2], s[at + 3]]) as u64 & 0x0fff_ffff
            } else {
                u16::from_le_bytes([s[at], s[at + 1]]) as u64
            };
        }
        Some(out)
    }

    /// The journal file, if the root directory has one of a usable size.
    pub fn find<D: BlockDevice>(&self, disk: &mut D) -> Option<Journal> {
        // The root directory's sectors, as runs.
        let runs: Vec<(u64, u64)> = if self.fat32 {
            self.chain(disk, self.root_cluster as u64)?
                .into_iter()
                .map(|c| (self.cluster_lba(c), self.per_cluster))
                .collect()
        } else {
            std::vec![self.root]
        };
        for (lba, n) in runs {
            let b = read_sectors(disk, lba, n)?;
            for (i, e) in b.chunks_exact(32).enumerate() {
                if e[0] == 0 {
                    return None;
                }
                if e[0] == 0xe5 || e[11] == 0x0f || e[11] & 0x08 != 0 || &e[..11] != SHORT {
                    continue;
                }
                let hi = if self.fat32 {
                    u16::from_le_bytes([e[20], e[21]]) as u64
                } else {
                    0
                };
                let first = hi << 16 | u16::from_le_bytes([e[26], e[27]]) as u64;
                let size = u32::from_le_bytes([e[28], e[29], e[30], e[31]]) as u64;
                return self.journal_at(
                    disk,
                    first,
                    size,
                    lba * SECTOR as u64 + i as u64 * 32,
                    e[11],
                );
            }
        }
        None
    }

    fn journal_at<D: BlockDevice>(
        &self,
        disk: &mut D,
        first: u64,
        size: u64,
        entry: u64,
        attr: u8,
    ) -> Option<Journal> {
        let mut slots = size / BLOCK as u64;
        while slots > 0 && file_bytes(slots) > size {
            slots -= 1;
        }
        if slots < MIN_SLOTS {
            return None;
        }
        let mut runs: Vec<(u64, u64)> = Vec::new();
        for c in self.chain(disk, first)? {
            let lba = self.cluster_lba(c);
            if lba + self.per_cluster > self.sectors {
                return None;
            }
            match runs.last_mut() {
                Some((l, n)) if *l + *n == lba => *n += self.per_cluster,
                _ => runs.push((lba, self.per_cluster)),
            }
        }
        let have: u64 = runs.iter().map(|r| r.1).sum();
        if have * (SECTOR as u64) < size {
            return None;
        }
        Some(Journal {
            runs,
            desc: desc_sectors(slots),
            slots,
            entry,
            attr,
        })
    }

    /// Bytes in a cluster.
    pub fn cluster_bytes(&self) -> u64 {
        self.per_cluster * SECTOR as u64
    }

    /// Bytes of the data area.
    pub fn data_bytes(&self) -> u64 {
        self.clusters * self.cluster_bytes()
    }
}

/// Fewest slots worth a journal.
pub const MIN_SLOTS: u64 = 16;

/// Finds the journal on `disk` and replays a committed write-out that was not finished (a kill
/// or a power loss between its descriptor and its end). `Ok(None)`: no journal (not a FAT16/32
/// volume, or one fatfs has not mounted yet). Only a device error is an error.
pub fn recover<D: BlockDevice>(disk: &mut D) -> Result<Option<Journal>, BlockError> {
    let Some(geo) = Geometry::of(disk) else {
        return Ok(None);
    };
    let Some(j) = geo.find(disk) else {
        return Ok(None);
    };
    if disk.info().read_only {
        return Ok(Some(j));
    }
    if let Some(homes) = j.committed(disk)? {
        let mut buf = std::vec![0u8; BLOCK];
        // Every slot whole first: else the write-out never completed its first flush (nothing
        // of it went home, nothing was acknowledged), or it is an older one, already home, whose
        // slots the next were reusing (its clearing is not flushed).
        for (slot, &(home, sum)) in homes.iter().enumerate() {
            if home == EMPTY {
                continue;
            }
            j.read_slot(disk, slot as u64, &mut buf)?;
            if block_sum(&buf) != sum {
                return Ok(Some(j));
            }
        }
        for (slot, &(home, _)) in homes.iter().enumerate() {
            if home == EMPTY {
                continue;
            }
            let first = home.saturating_mul(SECTORS_PER_SLOT);
            let n = geo.sectors.saturating_sub(first).min(SECTORS_PER_SLOT) as usize;
            if n == 0 {
                continue;
            }
            j.read_slot(disk, slot as u64, &mut buf)?;
            disk.write(first, &buf[..n * SECTOR])?;
        }
        disk.flush()?;
        j.clear(disk)?;
        disk.flush()?;
    }
    Ok(Some(j))
}
