use super::model::{Bus, ChannelModel, Drive as Model, TestClock};
use super::*;

/// A QEMU-like machine: the boot disk at index 0, `slave` at index 1, a CD-ROM at index 2.
fn machine(slave: Option<Model>) -> Bus {
    Bus::new(
        ChannelModel::new(Some(Model::disk(64, false)), slave),
        ChannelModel::new(Some(Model::atapi()), None),
    )
}

fn found(bus: &mut Bus) -> Drive {
    let mut clock = TestClock::default();
    identify(bus, &mut clock, Position(1)).expect("the primary slave")
}

fn pattern(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add((i * 13) as u8)).collect()
}

#[test]
fn probe_finds_the_data_disk_and_skips_the_boot_disk_and_the_cdrom() {
    let mut bus = machine(Some(Model::disk(2048, false)));
    let mut clock = TestClock::default();
    let got = probe(&mut bus, &mut clock);
    assert_eq!(got.len(), 3);
    let (p, d) = &got[0];
    assert_eq!(*p, Position(1));
    let d = d.as_ref().unwrap();
    assert_eq!((d.sectors, d.lba48), (2048, false));
    assert_eq!(d.model, "EURALI MODEL DISK");
    assert_eq!(got[1], (Position(2), Err(AtaError::NotAta)));
    assert_eq!(got[2], (Position(3), Err(AtaError::NoDevice)));
    // The boot disk was never sent a command.
    assert!(bus.primary.drives[0].as_ref().unwrap().commands.is_empty());
    assert_eq!(
        bus.primary.drives[1].as_ref().unwrap().commands,
        [cmd::IDENTIFY]
    );
    assert_eq!(format!("{}", Position(1)), "primary slave (index 1)");
}

#[test]
fn an_empty_machine_has_no_disks() {
    // No slave on the primary channel (status 0), nothing at all on the secondary (floating).
    let mut bus = Bus::new(
        ChannelModel::new(Some(Model::disk(64, false)), None),
        ChannelModel::new(None, None),
    );
    let mut clock = TestClock::default();
    let got = probe(&mut bus, &mut clock);
    assert!(
        got.iter().all(|(_, r)| *r == Err(AtaError::NoDevice)),
        "{got:?}"
    );
}

#[test]
fn lba48_sizes_come_from_words_100_to_103() {
    let mut id = [0u16; 256];
    id[49] = 1 << 9;
    id[60] = 0xFFFF;
    id[61] = 0x0FFF;
    id[83] = 1 << 10;
    id[100] = 0x0000;
    id[101] = 0x0000;
    id[102] = 0x0001; // 2^32 sectors: 2 TiB
    let d = parse_identify(Position(2), &id).unwrap();
    assert_eq!((d.sectors, d.lba48), (1 << 32, true));
    // Without the LBA48 bit the LBA28 words count.
    id[83] = 0;
    assert_eq!(
        parse_identify(Position(2), &id).unwrap().sectors,
        0x0FFF_FFFF
    );
    // No LBA, an ATAPI word 0, no sectors: refused.
    id[49] = 0;
    assert_eq!(parse_identify(Position(2), &id), Err(AtaError::Unsupported));
    id[49] = 1 << 9;
    id[0] = 0x8580;
    assert_eq!(parse_identify(Position(2), &id), Err(AtaError::NotAta));
    let mut empty = [0u16; 256];
    empty[49] = 1 << 9;
    assert_eq!(
        parse_identify(Position(2), &empty),
        Err(AtaError::Unsupported)
    );
}

#[test]
fn sectors_read_and_write_through_the_data_port() {
    let mut bus = machine(Some(Model::disk(1024, false)));
    let drive = found(&mut bus);
    let mut clock = TestClock::default();
    // One sector, then the most a command moves (256, a count register of 0).
    let mut one = [0u8; 512];
    drive.read(&mut bus, &mut clock, 3, &mut one).unwrap();
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(&one[..], &model.data[3 * 512..4 * 512]);
    let data = pattern(256 * 512, 5);
    drive.write(&mut bus, &mut clock, 700, &data).unwrap();
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(&model.data[700 * 512..956 * 512], &data[..]);
    assert_eq!(model.written, (700..956).collect::<Vec<u64>>());
    let mut back = vec![0u8; 256 * 512];
    drive.read(&mut bus, &mut clock, 700, &mut back).unwrap();
    assert_eq!(back, data);
    drive.flush(&mut bus, &mut clock).unwrap();
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(
        model.commands,
        [
            cmd::IDENTIFY,
            cmd::READ_SECTORS,
            cmd::WRITE_SECTORS,
            cmd::READ_SECTORS,
            cmd::CACHE_FLUSH
        ]
    );
    assert_eq!(model.flushes, 1);
    // The boot disk's bytes are untouched.
    let boot = bus.primary.drives[0].as_ref().unwrap();
    assert_eq!(boot.data, Model::disk(64, false).data);
    assert!(boot.commands.is_empty());
}

#[test]
fn transfers_past_2_to_the_28_use_the_ext_commands() {
    // A disk past 2^28 sectors would be 128 GiB in memory: the model is small, and the
    // driver is then told the drive is larger; the model decodes the task file's bytes (and
    // answers IDNF for sectors it does not have).
    let mut bus = machine(Some(Model::disk(300, true)));
    let mut drive = found(&mut bus);
    assert!(drive.lba48);
    let mut clock = TestClock::default();
    let mut buf = [0u8; 1024];
    drive.read(&mut bus, &mut clock, 298, &mut buf).unwrap();
    drive.flush(&mut bus, &mut clock).unwrap();
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(
        model.commands,
        [cmd::IDENTIFY, cmd::READ_SECTORS, cmd::CACHE_FLUSH_EXT]
    );
    // Pretend the drive is bigger than 2^28 sectors: the EXT command goes out with the high
    // bytes of the LBA; the model (300 sectors) answers IDNF for so far out.
    drive.sectors = 1 << 40;
    let lba = (1u64 << 28) + 5;
    let r = drive.read(&mut bus, &mut clock, lba, &mut buf);
    assert!(
        matches!(r, Err(AtaError::Device { error: 0x10, .. })),
        "{r:?}"
    );
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(model.last, Some((cmd::READ_SECTORS_EXT, lba, 2)));
    // Every byte of a 48-bit LBA and a count of 256 (0x0100) reach the drive.
    let far = 0xFE_DCBA_9876;
    let mut big = vec![0u8; 256 * 512];
    assert!(drive.write(&mut bus, &mut clock, far, &big).is_err());
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(model.last, Some((cmd::WRITE_SECTORS_EXT, far, 256)));
    // Below 2^28, LBA28 with the top four bits in the drive register, 256 as a count of 0.
    let near = (1u64 << 28) - 256;
    assert!(drive.read(&mut bus, &mut clock, near, &mut big).is_err());
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(model.last, Some((cmd::READ_SECTORS, near, 256)));
    // A drive without LBA48 is not asked past 2^28.
    drive.lba48 = false;
    assert_eq!(
        drive.read(&mut bus, &mut clock, lba, &mut buf),
        Err(AtaError::OutOfRange)
    );
}

#[test]
fn out_of_range_and_odd_lengths_never_reach_the_drive() {
    let mut bus = machine(Some(Model::disk(16, false)));
    let drive = found(&mut bus);
    let mut clock = TestClock::default();
    let mut buf = [0u8; 1024];
    assert_eq!(
        drive.read(&mut bus, &mut clock, 15, &mut buf),
        Err(AtaError::OutOfRange)
    );
    assert_eq!(
        drive.write(&mut bus, &mut clock, u64::MAX, &buf),
        Err(AtaError::OutOfRange)
    );
    assert_eq!(
        drive.write(&mut bus, &mut clock, 0, &buf[..100]),
        Err(AtaError::OutOfRange)
    );
    let model = bus.primary.drives[1].as_ref().unwrap();
    assert_eq!(model.commands, [cmd::IDENTIFY]);
}

#[test]
fn a_drive_that_never_comes_ready_is_a_timeout_not_a_hang() {
    let mut hung = Model::disk(64, false);
    hung.hung = true;
    let mut bus = machine(Some(hung));
    let mut clock = TestClock::default();
    assert_eq!(
        identify(&mut bus, &mut clock, Position(1)),
        Err(AtaError::Timeout)
    );
    // It gave up after its time limit, pausing between polls, and reset the channel.
    assert!(
        clock.us > WAIT_LIMIT_US && clock.us < 3 * WAIT_LIMIT_US,
        "{}",
        clock.us
    );
    assert!(bus.primary.resets >= 1);
    assert!(bus.accesses < 100_000, "{} port accesses", bus.accesses);
    // A drive that hangs later: its read times out too, and the next command goes on.
    let mut bus = machine(Some(Model::disk(64, false)));
    let drive = found(&mut bus);
    bus.primary.drives[1].as_mut().unwrap().hung = true;
    let mut clock = TestClock::default();
    let mut buf = [0u8; 512];
    assert_eq!(
        drive.read(&mut bus, &mut clock, 0, &mut buf),
        Err(AtaError::Timeout)
    );
    assert_eq!(drive.flush(&mut bus, &mut clock), Err(AtaError::Timeout));
    bus.primary.drives[1].as_mut().unwrap().hung = false;
    drive.read(&mut bus, &mut clock, 0, &mut buf).unwrap();
}

#[test]
fn a_drive_that_reports_err_or_df_is_an_error_and_the_channel_recovers() {
    let mut bus = machine(Some(Model::disk(64, false)));
    let drive = found(&mut bus);
    let mut clock = TestClock::default();
    bus.primary.drives[1].as_mut().unwrap().fail = Some(cmd::WRITE_SECTORS);
    let data = pattern(1024, 1);
    let r = drive.write(&mut bus, &mut clock, 4, &data);
    assert_eq!(
        r,
        Err(AtaError::Device {
            status: status::RDY | status::ERR,
            error: 0x04
        })
    );
    assert_eq!(
        format!("{}", r.unwrap_err()),
        "drive error (status 0x41, error 0x04)"
    );
    assert!(bus.primary.resets >= 1);
    let model = bus.primary.drives[1].as_mut().unwrap();
    assert!(model.written.is_empty());
    model.fail = None;
    // Reads still work; then a device fault on every command from now on.
    let mut buf = [0u8; 512];
    drive.read(&mut bus, &mut clock, 4, &mut buf).unwrap();
    let model = bus.primary.drives[1].as_mut().unwrap();
    model.fault_after = Some(model.commands.len());
    let r = drive.flush(&mut bus, &mut clock);
    assert!(
        matches!(r, Err(AtaError::Device { status, .. }) if status & status::DF != 0),
        "{r:?}"
    );
    assert!(format!("{}", r.unwrap_err()).starts_with("device fault"));
    assert_eq!(BlockError::from(AtaError::Timeout), BlockError::Io);
    assert_eq!(
        BlockError::from(AtaError::OutOfRange),
        BlockError::OutOfRange
    );
}

#[test]
fn the_block_device_splits_and_reports() {
    let mut bus = machine(Some(Model::disk(1024, false)));
    let drive = found(&mut bus);
    let mut disk = AtaDisk {
        io: &mut bus,
        waiter: TestClock::default(),
        drive,
    };
    assert_eq!(
        BlockDevice::info(&disk),
        Info {
            sectors: 1024,
            read_only: false
        }
    );
    let data = pattern(300 * 512, 9);
    disk.write(10, &data).unwrap();
    let mut back = vec![0u8; 300 * 512];
    disk.read(10, &mut back).unwrap();
    assert_eq!(back, data);
    assert_eq!(disk.read(1000, &mut back), Err(BlockError::OutOfRange));
    disk.io.primary.drives[1].as_mut().unwrap().fail = Some(cmd::CACHE_FLUSH);
    assert_eq!(disk.flush(), Err(BlockError::Io));
    let model = bus.primary.drives[1].as_ref().unwrap();
    // 300 sectors: two commands each way.
    assert_eq!(
        model.commands,
        [
            cmd::IDENTIFY,
            cmd::WRITE_SECTORS,
            cmd::WRITE_SECTORS,
            cmd::READ_SECTORS,
            cmd::READ_SECTORS,
            cmd::CACHE_FLUSH
        ]
    );
}

/// The block protocol over a real rendezvous on the stub, served by `block::serve` over the
/// driver on the model, as `drivers ata` serves it: what the file-system server sees.
#[test]
fn the_protocol_over_rendezvous_reaches_the_model() {
    use libeurali::proto::block::{self, Disk};
    let k = kernel_stub::Kernel::new();
    k.run_as_process("drivers", || {
        let (srv, cli) = libeurali::new_rendezvous().unwrap();
        libeurali::spawn_fn(move || {
            // A drive whose cache flush fails (ERR, ABRT): the client hears IO.
            let mut model = Model::disk(512, true);
            model.fail = Some(cmd::CACHE_FLUSH_EXT);
            let mut bus = machine(Some(model));
            let drive = found(&mut bus);
            let mut disk = AtaDisk {
                io: &mut bus,
                waiter: TestClock::default(),
                drive,
            };
            block::serve(&srv, &mut disk);
        })
        .unwrap();
        let mut d = Disk::new(cli).unwrap();
        assert_eq!(
            d.info(),
            Info {
                sectors: 512,
                read_only: false
            }
        );
        let data = pattern(300 * 512, 3);
        d.write(100, &data).unwrap();
        let mut back = vec![0u8; 300 * 512];
        d.read(100, &mut back).unwrap();
        assert_eq!(back, data);
        assert_eq!(BlockDevice::flush(&mut d), Err(BlockError::Io));
        // The server goes on; the model's own bytes where nothing was written.
        let mut first = [0u8; 512];
        d.read(0, &mut first).unwrap();
        assert_eq!(&first[..], &Model::disk(1, false).data[..]);
        assert_eq!(d.read(500, &mut back), Err(BlockError::OutOfRange));
        assert_eq!(
            block::read(d.handle(), 512, &mut first),
            Err(BlockError::OutOfRange)
        );
    });
    k.shutdown();
    assert!(k.take_fault().is_none());
}
