// AudioWorklet: microphone samples at the context's rate -> 16 kHz mono Int16 frames of 100 ms,
// plus the RMS level of each frame for the meter. Runs on the audio thread; posts to the page.
//
// The page asks for an AudioContext at 16 kHz, so the browser's own resampler (a proper
// band-limited one) does the rate change and this node only packs frames. Where the browser
// cannot capture into a 16 kHz context (Firefox refuses to connect a 48 kHz microphone to it),
// the context runs at the device rate and this node resamples: a windowed-sinc low-pass at
// 7 kHz (below the 8 kHz Nyquist of the output, 63 taps, Blackman window: > 70 dB stopband)
// and then one output sample every `ratio` inputs. An averaging (box) filter, used before,
// lets speech energy of 8-16 kHz fold back into the band the recogniser hears.
const TAPS = 63;

function lowPass(rate) {
  const fc = 7000 / rate; // cutoff, cycles per input sample
  const h = new Float32Array(TAPS);
  const m = (TAPS - 1) / 2;
  let sum = 0;
  for (let i = 0; i < TAPS; i++) {
    const x = i - m;
    const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
    const w = 0.42 - 0.5 * Math.cos((2 * Math.PI * i) / (TAPS - 1)) + 0.08 * Math.cos((4 * Math.PI * i) / (TAPS - 1));
    h[i] = sinc * w;
    sum += h[i];
  }
  for (let i = 0; i < TAPS; i++) h[i] /= sum; // unity gain at DC
  return h;
}

class PcmDownsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / 16000; // input samples per output sample (1 when the browser resampled)
    this.filter = this.ratio > 1 ? lowPass(sampleRate) : null;
    this.pos = 0; // fractional read position into the pending input
    this.pending = new Float32Array(0); // input not consumed yet (with TAPS-1 samples of history)
    this.frame = new Int16Array(1600);
    this.fill = 0;
    this.sumSq = 0;
    this.paused = false;
    this.port.onmessage = (e) => { if (e.data && "paused" in e.data) this.paused = e.data.paused; };
  }

  sampleAt(buf, at) {
    if (!this.filter) return buf[at];
    let s = 0;
    for (let k = 0; k < TAPS; k++) s += this.filter[k] * buf[at + k];
    return s;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || this.paused) return true;
    const ch = input[0];
    const buf = new Float32Array(this.pending.length + ch.length);
    buf.set(this.pending);
    buf.set(ch, this.pending.length);
    const span = this.filter ? TAPS : 1; // input samples one output sample reads
    while (Math.floor(this.pos) + span <= buf.length) {
      const v = this.sampleAt(buf, Math.floor(this.pos));
      this.sumSq += v * v;
      const c = Math.max(-1, Math.min(1, v));
      this.frame[this.fill++] = c < 0 ? c * 0x8000 : c * 0x7fff;
      this.pos += this.ratio;
      if (this.fill === this.frame.length) {
        const level = Math.sqrt(this.sumSq / this.fill);
        this.port.postMessage({ pcm: this.frame.buffer, level }, [this.frame.buffer]);
        this.frame = new Int16Array(1600);
        this.fill = 0;
        this.sumSq = 0;
      }
    }
    const keep = Math.floor(this.pos);
    this.pending = buf.slice(keep);
    this.pos -= keep;
    return true;
  }
}
registerProcessor("pcm-downsampler", PcmDownsampler);
