// AudioWorklet: microphone samples at the context's rate -> 16 kHz mono Int16 frames of 100 ms,
// plus the RMS level of each frame for the meter. Runs on the audio thread; posts to the page.
class PcmDownsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.ratio = sampleRate / 16000; // input samples per output sample (3 at 48 kHz)
    this.pos = 0; // fractional read position into the pending input
    this.pending = new Float32Array(0);
    this.frame = new Int16Array(1600);
    this.fill = 0;
    this.sumSq = 0;
    this.paused = false;
    this.port.onmessage = (e) => { if (e.data && "paused" in e.data) this.paused = e.data.paused; };
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || this.paused) return true;
    const ch = input[0];
    const buf = new Float32Array(this.pending.length + ch.length);
    buf.set(this.pending);
    buf.set(ch, this.pending.length);
    // average the input samples that fall into each output sample: a box low-pass that keeps
    // aliasing down without a filter design
    while (this.pos + this.ratio <= buf.length) {
      const a = Math.floor(this.pos), b = Math.floor(this.pos + this.ratio);
      let s = 0;
      for (let i = a; i < b; i++) s += buf[i];
      const v = b > a ? s / (b - a) : buf[a];
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
