// voxagent web: the capture side of the page, run on the browser's audio thread.
// Mixes the microphone to mono, converts it to 16 kHz (averaging the input samples that fall
// in each output sample, a cheap low-pass before decimation), and posts 20 ms frames of
// little-endian PCM16 to the page, with their RMS level for the meter.

class Pcm16Capture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    const settings = (options && options.processorOptions) || {};
    this.frameSamples = settings.frameSamples || 320;
    this.ratio = sampleRate / (settings.targetRate || 16000); // input samples per output sample
    this.frame = new Int16Array(this.frameSamples);
    this.filled = 0;
    this.energy = 0;
    this.sum = 0;
    this.count = 0;
    this.phase = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const channels = input.length;
    const length = input[0].length;
    for (let i = 0; i < length; i++) {
      let value = 0;
      for (let c = 0; c < channels; c++) value += input[c][i];
      this.sum += value / channels;
      this.count += 1;
      this.phase += 1;
      while (this.phase >= this.ratio) {
        this.phase -= this.ratio;
        this.push(this.sum / this.count);
        if (this.phase < this.ratio) {
          this.sum = 0;
          this.count = 0;
        }
      }
    }
    return true;
  }

  push(sample) {
    const x = Math.max(-1, Math.min(1, sample));
    this.frame[this.filled++] = x < 0 ? x * 0x8000 : x * 0x7fff;
    this.energy += x * x;
    if (this.filled === this.frameSamples) {
      const pcm = this.frame.buffer;
      const level = Math.sqrt(this.energy / this.frameSamples);
      this.port.postMessage({ pcm, level }, [pcm]);
      this.frame = new Int16Array(this.frameSamples);
      this.filled = 0;
      this.energy = 0;
    }
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
