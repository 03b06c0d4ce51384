use super::model::{BASE, Chip, TestDma, memory};
use super::*;

fn setup() -> (Chip, Rtl8139<model::Buf>) {
    let mem = memory(0x58_0000, 64 * 1024);
    let mut dma = TestDma {
        mem: mem.clone(),
        next: 0x58_0000,
        limit_allocs: 2,
    };
    let mut chip = Chip::new(mem);
    let nic = Rtl8139::init(&mut chip, BASE, &mut dma).expect("init");
    (chip, nic)
}

fn frame(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| seed.wrapping_add(i as u8)).collect()
}

#[test]
fn init_resets_and_programs_the_chip() {
    let (chip, nic) = setup();
    assert_eq!(format_mac(&nic.mac()), "52:54:00:12:34:56");
    assert_eq!(
        chip.cr & (CR_RX_ENABLE | CR_TX_ENABLE),
        CR_RX_ENABLE | CR_TX_ENABLE
    );
    assert_eq!(chip.rbstart, 0x58_0000);
    assert_eq!(chip.tsad, [0x58_3000, 0x58_3800, 0x58_4000, 0x58_4800]);
    assert_eq!(chip.imr, 0, "polled: no NIC interrupts");
    assert_eq!(
        chip.rcr & 0xF,
        0xE,
        "broadcast, multicast, own address; not promiscuous"
    );
    assert_ne!(chip.rcr & 0x80, 0, "WRAP");
    assert_eq!(chip.config1, 0);
}

#[test]
fn init_fails_cleanly() {
    let mem = memory(0x58_0000, 64 * 1024);
    let mut chip = Chip::new(mem.clone());
    chip.reset_polls = usize::MAX;
    let mut dma = TestDma {
        mem: mem.clone(),
        next: 0x58_0000,
        limit_allocs: 2,
    };
    assert_eq!(
        Rtl8139::init(&mut chip, BASE, &mut dma).err(),
        Some(InitError::ResetTimeout)
    );
    let mut chip = Chip::new(mem.clone());
    let mut dma = TestDma {
        mem,
        next: 0x58_0000,
        limit_allocs: 1,
    };
    assert_eq!(
        Rtl8139::init(&mut chip, BASE, &mut dma).err(),
        Some(InitError::NoMemory)
    );
}

#[test]
fn frames_are_sent_round_robin_and_padded() {
    let (mut chip, mut nic) = setup();
    for i in 0..6 {
        nic.send(&mut chip, &frame(100 + i, i as u8)).unwrap();
    }
    nic.send(&mut chip, b"short").unwrap();
    assert_eq!(chip.sent.len(), 7);
    for i in 0..6 {
        assert_eq!(chip.sent[i], frame(100 + i, i as u8));
    }
    let mut padded = b"short".to_vec();
    padded.resize(MIN_FRAME, 0);
    assert_eq!(chip.sent[6], padded);
    assert_eq!(nic.send(&mut chip, &[]), Err(SendError::BadLength));
    assert_eq!(
        nic.send(&mut chip, &[0; MAX_FRAME + 1]),
        Err(SendError::BadLength)
    );
}

#[test]
fn a_busy_transmitter_is_reported_not_overwritten() {
    let (mut chip, mut nic) = setup();
    chip.hold_tx = true;
    for i in 0..4 {
        nic.send(&mut chip, &frame(64, i)).unwrap();
    }
    assert_eq!(nic.send(&mut chip, &frame(64, 9)), Err(SendError::Busy));
    assert_eq!(chip.sent.len(), 4);
    // The chip finishes descriptor 0: the next send goes there.
    chip.tsd[0] |= TSD_OWN | TSD_TOK;
    nic.send(&mut chip, &frame(64, 9)).unwrap();
    assert_eq!(chip.sent[4], frame(64, 9));
}

#[test]
fn frames_are_received_without_crc_across_the_ring() {
    let (mut chip, mut nic) = setup();
    let mut buf = [0u8; MAX_FRAME];
    assert_eq!(nic.receive(&mut chip, &mut buf), None);
    // Enough frames of odd lengths to go round the 8 KiB ring several times.
    let mut delivered = 0;
    for round in 0..60u8 {
        let f = frame(60 + (round as usize * 37) % 1400, round);
        assert!(chip.deliver(&f), "frame {round} dropped");
        if round % 3 == 0 {
            let g = frame(1514, round ^ 0x55);
            assert!(chip.deliver(&g));
            delivered += 1;
            let n = nic.receive(&mut chip, &mut buf).expect("frame");
            assert_eq!(&buf[..n], &f[..]);
            let n = nic.receive(&mut chip, &mut buf).expect("frame");
            assert_eq!(&buf[..n], &g[..]);
        } else {
            let n = nic.receive(&mut chip, &mut buf).expect("frame");
            assert_eq!(&buf[..n], &f[..]);
        }
        delivered += 1;
        assert_eq!(nic.receive(&mut chip, &mut buf), None);
    }
    assert_eq!(delivered, 80);
    assert_eq!(chip.dropped, 0);
    assert_eq!(nic.rx_errors, 0);
    assert_eq!(chip.isr & 1, 0, "ROK acknowledged");
}

#[test]
fn a_full_ring_drops_at_the_chip_and_reading_makes_room() {
    let (mut chip, mut nic) = setup();
    let f = frame(1500, 1);
    let mut n = 0;
    while chip.deliver(&f) {
        n += 1;
    }
    assert_eq!(n, 5, "8 KiB holds five 1.5 KiB frames");
    let mut buf = [0u8; MAX_FRAME];
    for _ in 0..n {
        assert_eq!(nic.receive(&mut chip, &mut buf), Some(1500));
    }
    assert_eq!(nic.receive(&mut chip, &mut buf), None);
    assert!(chip.deliver(&f));
    assert_eq!(nic.receive(&mut chip, &mut buf), Some(1500));
}

#[test]
fn a_bad_frame_resets_the_ring_and_reception_goes_on() {
    let (mut chip, mut nic) = setup();
    let mut buf = [0u8; MAX_FRAME];
    chip.deliver(&frame(100, 1));
    chip.deliver_with_status(&frame(100, 2), 0x0002); // CRC error
    chip.deliver(&frame(100, 3));
    assert_eq!(nic.receive(&mut chip, &mut buf), Some(100));
    assert_eq!(nic.receive(&mut chip, &mut buf), None);
    assert_eq!(nic.rx_errors, 1);
    assert!(chip.deliver(&frame(80, 4)));
    assert_eq!(nic.receive(&mut chip, &mut buf), Some(80));
    assert_eq!(&buf[..80], &frame(80, 4)[..]);
}
