// Who hears whom: each participant measures which streams reach it, tells the others, and a broken
// pair is shown to the two people concerned and repaired by that pair alone.

import { describe, expect, it } from 'vitest';
import { parsePeerMessage } from '../../client/call/connection/peer-protocol.js';
import {
  brokenPairs,
  inboundCounters,
  ReceptionMeter,
  receptionReport,
  RepairLadder,
  type MediaFlags,
  type Reception,
  type ReceptionReading,
} from '../../client/call/quality/reception.js';

const BOTH: MediaFlags = { audio: true, video: true };
const NEITHER: MediaFlags = { audio: false, video: false };

/** Cumulative counters as getStats() gives them: `packets` audio packets, `frames` decoded video frames. */
const reading = (packets: number, frames: number, sending: MediaFlags = BOTH): ReceptionReading => ({
  sending,
  audio: { packetsReceived: packets, bytesReceived: packets * 80 },
  video: { packetsReceived: frames * 4, bytesReceived: frames * 4000, framesDecoded: frames },
});

describe('ReceptionMeter: which of their streams reach me', () => {
  it('sees both streams flowing once their counters grow', () => {
    const meter = new ReceptionMeter<string>();
    expect(meter.read('ben', reading(0, 0), 0)).toEqual({ audio: 'starting', video: 'starting' });
    expect(meter.read('ben', reading(150, 90), 3000)).toEqual({ audio: 'flowing', video: 'flowing' });
    expect(meter.read('ben', reading(300, 180), 6000)).toEqual({ audio: 'flowing', video: 'flowing' });
  });

  it('calls a stream stalled once nothing new arrived for 4 s', () => {
    const meter = new ReceptionMeter<string>();
    for (const [i, now] of [0, 3000, 6000, 9000].entries()) meter.read('ben', reading(150 * i, 90 * i), now);
    // Ben's audio stops reaching me after 9 s; his video goes on.
    expect(meter.read('ben', reading(450, 300), 12_000)).toEqual({ audio: 'flowing', video: 'flowing' });
    expect(meter.read('ben', reading(450, 330), 12_999)).toEqual({ audio: 'flowing', video: 'flowing' });
    expect(meter.read('ben', reading(450, 360), 13_000)).toEqual({ audio: 'stalled', video: 'flowing' });
    // It comes back.
    expect(meter.read('ben', reading(451, 390), 16_000)).toEqual({ audio: 'flowing', video: 'flowing' });
  });

  it('takes the few packets of a silent microphone (DTX) as flowing', () => {
    const meter = new ReceptionMeter<string>();
    for (let now = 0, packets = 0; now <= 60_000; now += 3000, packets += 8) {
      expect(meter.read('ben', reading(packets, now / 100), now).audio).toBe(now === 0 ? 'starting' : 'flowing');
    }
  });

  it('counts video as seen only when frames are decoded, and by its packets where frames are not reported', () => {
    const decoded = new ReceptionMeter<string>();
    const packetsOnly = new ReceptionMeter<string>();
    for (let now = 0; now <= 12_000; now += 3000) {
      const video = { packetsReceived: now, bytesReceived: now * 1000 };
      decoded.read('ben', { sending: BOTH, audio: { packetsReceived: now }, video: { ...video, framesDecoded: 0 } }, now);
      packetsOnly.read('ben', { sending: BOTH, audio: { packetsReceived: now }, video }, now);
    }
    const video = { packetsReceived: 15_000, bytesReceived: 15_000_000 };
    expect(decoded.read('ben', { sending: BOTH, audio: { packetsReceived: 15_000 }, video: { ...video, framesDecoded: 0 } }, 15_000).video).toBe('stalled');
    expect(packetsOnly.read('ben', { sending: BOTH, audio: { packetsReceived: 15_000 }, video }, 15_000).video).toBe('flowing');
  });

  it('expects no audio from a muted microphone and no video from a camera that is off', () => {
    const meter = new ReceptionMeter<string>();
    for (let now = 0; now <= 60_000; now += 3000) {
      expect(meter.read('ben', reading(0, 0, NEITHER), now)).toEqual({ audio: 'not-expected', video: 'not-expected' });
    }
  });

  it('gives a microphone just switched on the grace time, then calls it stalled if nothing comes', () => {
    const meter = new ReceptionMeter<string>();
    // Ben talked, then muted for a while.
    meter.read('ben', reading(0, 0), 0);
    meter.read('ben', reading(150, 90), 3000);
    const muted = { audio: false, video: true };
    for (let now = 6000; now <= 18_000; now += 3000) expect(meter.read('ben', reading(150, now / 50, muted), now).audio).toBe('not-expected');
    // He unmutes; his packets do not reach me.
    expect(meter.read('ben', reading(150, 400), 21_000).audio).toBe('starting');
    expect(meter.read('ben', reading(150, 450), 28_999).audio).toBe('starting');
    expect(meter.read('ben', reading(150, 500), 29_000).audio).toBe('stalled');
  });

  it('sees a microphone switched on as flowing as soon as its packets arrive', () => {
    const meter = new ReceptionMeter<string>();
    meter.read('ben', reading(0, 0, { audio: false, video: true }), 0);
    expect(meter.read('ben', reading(0, 90), 3000).audio).toBe('starting');
    expect(meter.read('ben', reading(120, 180), 6000).audio).toBe('flowing');
  });

  it('waits the grace time after a (re)connection before calling a silent stream stalled', () => {
    const meter = new ReceptionMeter<string>();
    expect(meter.read('ben', reading(0, 0), 0).audio).toBe('starting');
    expect(meter.read('ben', reading(0, 0), 3000).audio).toBe('starting');
    expect(meter.read('ben', reading(0, 0), 7999).audio).toBe('starting');
    expect(meter.read('ben', reading(0, 0), 8000)).toEqual({ audio: 'stalled', video: 'stalled' });
    // The connection drops and comes back: a fresh start, with a fresh grace time.
    meter.forget('ben');
    expect(meter.read('ben', reading(0, 0), 20_000)).toEqual({ audio: 'starting', video: 'starting' });
    expect(meter.read('ben', reading(0, 0), 27_999).audio).toBe('starting');
    expect(meter.read('ben', reading(0, 0), 28_000).audio).toBe('stalled');
  });

  it('starts a new baseline when the counters go backwards: a new connection replaced the old one', () => {
    const meter = new ReceptionMeter<string>();
    for (const now of [0, 3000, 6000]) meter.read('ben', reading(5000 + now / 10, 3000 + now / 20), now);
    // The new connection's counters start near zero: neither progress nor a stall.
    expect(meter.read('ben', reading(10, 2), 9000)).toEqual({ audio: 'starting', video: 'starting' });
    expect(meter.read('ben', reading(160, 92), 12_000)).toEqual({ audio: 'flowing', video: 'flowing' });

    const silent = new ReceptionMeter<string>();
    for (const now of [0, 3000, 6000]) silent.read('ben', reading(5000 + now / 10, 3000 + now / 20), now);
    expect(silent.read('ben', reading(10, 2), 9000).audio).toBe('starting');
    expect(silent.read('ben', reading(10, 2), 16_999).audio).toBe('starting');
    expect(silent.read('ben', reading(10, 2), 17_000).audio).toBe('stalled');
  });

  it('also starts afresh when a kind’s stats disappear and come back', () => {
    const meter = new ReceptionMeter<string>();
    for (const now of [0, 3000, 6000]) meter.read('ben', reading(now / 10, now / 20), now);
    expect(meter.read('ben', { sending: BOTH, audio: null, video: null }, 9000)).toEqual({ audio: 'starting', video: 'starting' });
    expect(meter.read('ben', reading(100, 60), 12_000)).toEqual({ audio: 'flowing', video: 'flowing' });
  });

  it('does not take a counter missing from one reading for a new connection', () => {
    const meter = new ReceptionMeter<string>();
    for (const now of [0, 3000, 6000, 9000]) meter.read('ben', reading(now / 10, now / 20), now);
    const withoutBytes = { sending: BOTH, audio: { packetsReceived: 1200 }, video: { packetsReceived: 2400, framesDecoded: 600 } };
    expect(meter.read('ben', withoutBytes, 12_000)).toEqual({ audio: 'flowing', video: 'flowing' });
    expect(meter.read('ben', { ...withoutBytes, video: { packetsReceived: 3000, framesDecoded: 750 } }, 16_000)).toEqual({ audio: 'stalled', video: 'flowing' });
  });

  it('keeps each participant apart', () => {
    const meter = new ReceptionMeter<string>();
    for (let now = 0; now <= 12_000; now += 3000) {
      meter.read('ben', reading(now, now), now);
      meter.read('carla', reading(0, now), now);
    }
    expect(meter.read('ben', reading(15_000, 15_000), 15_000).audio).toBe('flowing');
    expect(meter.read('carla', reading(0, 15_000), 15_000).audio).toBe('stalled');
  });
});

describe('inboundCounters: the counters from getStats()', () => {
  it('sums each kind’s inbound streams and ignores everything else', () => {
    const stats = [
      { id: 'A1', type: 'inbound-rtp', kind: 'audio', packetsReceived: 100, bytesReceived: 8000 },
      { id: 'V1', type: 'inbound-rtp', kind: 'video', packetsReceived: 400, bytesReceived: 400_000, framesDecoded: 90 },
      // A second video stream (a screen from someone without a camera), reported the old way.
      { id: 'V2', type: 'inbound-rtp', mediaType: 'video', packetsReceived: 50, bytesReceived: 50_000, framesDecoded: 10 },
      { id: 'O1', type: 'outbound-rtp', kind: 'audio', packetsSent: 999 },
      { id: 'R1', type: 'remote-inbound-rtp', kind: 'video', packetsReceived: 777 },
      { id: 'X1', type: 'inbound-rtp', kind: 'data', packetsReceived: 5 },
      { id: 'A2', type: 'inbound-rtp', kind: 'audio', packetsReceived: '12', bytesReceived: Number.NaN, framesDecoded: -1 },
    ];
    expect(inboundCounters(stats)).toEqual({
      audio: { packetsReceived: 100, bytesReceived: 8000 },
      video: { packetsReceived: 450, bytesReceived: 450_000, framesDecoded: 100 },
    });
  });

  it('has nothing for a kind that has no inbound stream yet', () => {
    expect(inboundCounters([{ id: 'T', type: 'transport' }])).toEqual({ audio: null, video: null });
  });
});

describe('reception reports', () => {
  it('blames only a stalled stream: one starting or not sent is no fault of the path', () => {
    const cases: Array<[Reception, { audio: boolean; video: boolean }]> = [
      [{ audio: 'flowing', video: 'stalled' }, { audio: true, video: false }],
      [{ audio: 'stalled', video: 'not-expected' }, { audio: false, video: true }],
      [{ audio: 'starting', video: 'flowing' }, { audio: true, video: true }],
    ];
    for (const [reception, flags] of cases) expect(receptionReport(reception)).toEqual({ type: 'reception', ...flags });
  });

  it('arrives as sent', () => {
    const report = receptionReport({ audio: 'stalled', video: 'flowing' });
    expect(parsePeerMessage(JSON.stringify(report))).toEqual(report);
  });
});

describe('brokenPairs: what the UI shows', () => {
  const flowing: Reception = { audio: 'flowing', video: 'flowing' };

  it('names what I miss from whom and what they miss from me', () => {
    const mine = new Map<string, Reception>([
      ['ben', { audio: 'stalled', video: 'flowing' }],
      ['carla', flowing],
      ['emil', { audio: 'starting', video: 'not-expected' }],
    ]);
    const theirs = new Map<string, MediaFlags>([
      ['ben', BOTH],
      ['carla', { audio: true, video: false }],
      // Dora's report came in before my first reading of her.
      ['dora', { audio: false, video: false }],
    ]);
    expect(brokenPairs(mine, theirs, () => BOTH)).toEqual([
      { id: 'ben', iCannot: ['audio'], theyCannot: [] },
      { id: 'carla', iCannot: [], theyCannot: ['video'] },
      { id: 'dora', iCannot: [], theyCannot: ['audio', 'video'] },
    ]);
  });

  it('does not blame a stream I do not send, whatever an older report says', () => {
    const mine = new Map<string, Reception>([['ben', flowing]]);
    const theirs = new Map<string, MediaFlags>([['ben', NEITHER]]);
    // My microphone is muted (their report predates it), my camera is on.
    expect(brokenPairs(mine, theirs, () => ({ audio: false, video: true }))).toEqual([{ id: 'ben', iCannot: [], theyCannot: ['video'] }]);
    // I send Carla no video (her link is paused), Ben gets it.
    const sendingTo = (id: string) => ({ audio: true, video: id !== 'carla' });
    expect(brokenPairs(new Map(), new Map([['carla', { audio: true, video: false }]]), sendingTo)).toEqual([]);
  });

  it('is empty when everyone gets everything', () => {
    const mine = new Map<string, Reception>([
      ['ben', flowing],
      ['carla', { audio: 'not-expected', video: 'starting' }],
    ]);
    expect(brokenPairs(mine, new Map([['ben', BOTH]]), () => BOTH)).toEqual([]);
  });
});

describe('RepairLadder: a broken pair repairs itself', () => {
  /** Feeds the ladder the broken pairs at `now`; returns the step due for each id asked about. */
  const tick = (ladder: RepairLadder<string>, broken: string[], now: number, ids = ['ben']) => {
    ladder.update(broken, now);
    return ids.map((id) => ladder.needsRepair(id));
  };

  it('restarts ICE at once, goes through the relay 10 s later, then gives up and keeps quiet', () => {
    const ladder = new RepairLadder<string>();
    expect(tick(ladder, ['ben'], 0)).toEqual(['restart-ice']);
    // Each step comes once.
    expect(tick(ladder, ['ben'], 0)).toEqual(['none']);
    for (const now of [3000, 6000, 9999]) expect(tick(ladder, ['ben'], now), String(now)).toEqual(['none']);
    expect(tick(ladder, ['ben'], 10_000)).toEqual(['relay']);
    expect(ladder.gaveUp('ben')).toBe(false);
    for (const now of [13_000, 16_000, 19_999]) expect(tick(ladder, ['ben'], now), String(now)).toEqual(['none']);
    expect(tick(ladder, ['ben'], 20_000)).toEqual(['none']);
    expect(ladder.gaveUp('ben')).toBe(true);
    for (let now = 23_000; now <= 120_000; now += 3000) expect(tick(ladder, ['ben'], now)).toEqual(['none']);
    expect(ladder.gaveUp('ben')).toBe(true);
  });

  it('goes on from where it was when the pair breaks again soon after a step seemed to work', () => {
    const ladder = new RepairLadder<string>();
    expect(tick(ladder, ['ben'], 0)).toEqual(['restart-ice']);
    // The restarted connection is in its grace time: nothing looks broken for a while…
    for (let now = 3000; now <= 18_000; now += 3000) expect(tick(ladder, [], now)).toEqual(['none']);
    // …then it stalls again: the next step, not the first one again.
    expect(tick(ladder, ['ben'], 21_000)).toEqual(['relay']);
  });

  it('starts over once the pair stayed unbroken for 30 s', () => {
    const ladder = new RepairLadder<string>();
    tick(ladder, ['ben'], 0);
    tick(ladder, ['ben'], 10_000);
    tick(ladder, ['ben'], 20_000);
    expect(ladder.gaveUp('ben')).toBe(true);
    // Repaired after all (the other side's network recovered).
    for (let now = 21_000; now < 51_000; now += 3000) tick(ladder, [], now);
    expect(ladder.gaveUp('ben')).toBe(true);
    tick(ladder, [], 51_000);
    expect(ladder.gaveUp('ben')).toBe(false);
    expect(tick(ladder, ['ben'], 80_000)).toEqual(['restart-ice']);
  });

  it('repairs each pair on its own', () => {
    const ladder = new RepairLadder<string>();
    const ids = ['ben', 'carla'];
    expect(tick(ladder, ['ben'], 0, ids)).toEqual(['restart-ice', 'none']);
    expect(tick(ladder, ['ben', 'carla'], 5000, ids)).toEqual(['none', 'restart-ice']);
    expect(tick(ladder, ['ben', 'carla'], 10_000, ids)).toEqual(['relay', 'none']);
    expect(tick(ladder, ['carla'], 15_000, ids)).toEqual(['none', 'relay']);
  });

  it('forgets someone who left', () => {
    const ladder = new RepairLadder<string>();
    tick(ladder, ['ben'], 0);
    tick(ladder, ['ben'], 10_000);
    ladder.forget('ben');
    expect(ladder.needsRepair('ben')).toBe('none');
    expect(tick(ladder, ['ben'], 11_000)).toEqual(['restart-ice']);
  });
});

describe('who hears whom: Anna and Ben', () => {
  it('Ben stops hearing Anna: both see it, Anna’s client repairs the pair, and it clears once audio flows again', () => {
    // Ben's side: his meter of Anna's streams, read every 3 s.
    const bensMeter = new ReceptionMeter<string>();
    const bensLadder = new RepairLadder<string>();
    // Anna's side: Ben's latest report about her streams, and her ladder.
    const annasReports = new Map<string, MediaFlags>();
    const annasLadder = new RepairLadder<string>();
    const annasReceptionOfBen = new Map<string, Reception>([['ben', { audio: 'flowing', video: 'flowing' }]]);

    let packets = 0;
    let frames = 0;
    let lastSent = receptionReport({ audio: 'flowing', video: 'flowing' });
    const steps: string[] = [];
    for (let now = 0; now <= 60_000; now += 3000) {
      // Anna's audio stops reaching Ben from 12 s until the relay carries it at 30 s.
      if (now < 12_000 || now >= 30_000) packets += 150;
      frames += 90;
      const reception = bensMeter.read('anna', reading(packets, frames), now);

      // Ben sees his own side of the pair, and reports to Anna when it changes.
      bensLadder.update(
        brokenPairs(new Map([['anna', reception]]), new Map(), () => BOTH).map((pair) => pair.id),
        now,
      );
      const report = receptionReport(reception);
      if (report.audio !== lastSent.audio || report.video !== lastSent.video) {
        const received = parsePeerMessage(JSON.stringify(report));
        if (received?.type === 'reception') annasReports.set('ben', { audio: received.audio, video: received.video });
        lastSent = report;
      }

      const pairs = brokenPairs(annasReceptionOfBen, annasReports, () => BOTH);
      if (now === 15_000) expect(pairs).toEqual([{ id: 'ben', iCannot: [], theyCannot: ['audio'] }]);
      annasLadder.update(
        pairs.map((pair) => pair.id),
        now,
      );
      const step = annasLadder.needsRepair('ben');
      if (step !== 'none') steps.push(`${now / 1000} s: ${step}`);
      if (now === 36_000) expect(pairs).toEqual([]);
    }
    // Stall seen at 15 s (no packet after the 9 s reading for 4 s+); relay 10 s later; audio back from 30 s.
    expect(steps).toEqual(['15 s: restart-ice', '27 s: relay']);
    expect(annasLadder.gaveUp('ben')).toBe(false);
    expect(bensLadder.gaveUp('anna')).toBe(false);
  });
});
