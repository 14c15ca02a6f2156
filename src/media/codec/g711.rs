//! ITU-T G.711 µ-law companding (the PCMU of RFC 3551 §4.5.14).
//!
//! G.711 defines µ-law on 14-bit linear samples: 8 segments (chords) of 16
//! steps each, the step doubling from one segment to the next, with a bias
//! of 33 so that the segment boundaries fall on powers of two. On 16-bit
//! samples the same law reads with everything scaled by 4: bias 132, a
//! largest magnitude of 32635 before the bias, and decoded values up to
//! ±32124 (G.711 Table 2a's decoder output 8031 times 4). The code word is
//! sent with all bits inverted, so silence (positive zero) is 0xFF.
//!
//! Decoding uses a 256-entry table computed at compile time; encoding
//! computes the segment from the position of the highest set bit, which is
//! as fast as a table lookup and needs no 16 K table.

/// G.711 µ-law bias, in 16-bit units (33 in the 14-bit units of G.711).
const BIAS: i32 = 0x84;
/// Largest magnitude that still fits the top segment once biased
/// (8159 in 14-bit units, minus the bias).
const CLIP: i32 = 32_635;

/// Encodes one 16-bit linear sample to a µ-law code word.
pub fn ulaw_encode(sample: i16) -> u8 {
    let linear = i32::from(sample);
    // Negative samples keep the sign bit clear after the final inversion.
    let (magnitude, mask) = if linear < 0 {
        (-linear, 0x7F)
    } else {
        (linear, 0xFF)
    };
    let biased = magnitude.min(CLIP) + BIAS;
    // biased is in 132..=32767: its top bit is bit 7 (segment 0) to bit 14
    // (segment 7).
    let top_bit = 31 - biased.leading_zeros() as i32;
    let segment = top_bit - 7;
    let mantissa = (biased >> (segment + 3)) & 0x0F;
    let code = (segment << 4) | mantissa;
    // code and mask are both in 0..=0xFF.
    (code ^ mask) as u8
}

/// Decodes one µ-law code word to a 16-bit linear sample.
pub fn ulaw_decode(code: u8) -> i16 {
    DECODE[usize::from(code)]
}

/// The decoder output for every code word, G.711 Table 2a scaled by 4.
static DECODE: [i16; 256] = decode_table();

const fn decode_table() -> [i16; 256] {
    let mut table = [0i16; 256];
    let mut code = 0;
    while code < 256 {
        let inverted = !(code as u8);
        let segment = ((inverted >> 4) & 0x07) as i32;
        let mantissa = (inverted & 0x0F) as i32;
        // The midpoint of step `mantissa` in `segment`, with the bias
        // taken back off.
        let magnitude = (((mantissa << 3) + BIAS) << segment) - BIAS;
        table[code] = if inverted & 0x80 != 0 {
            -magnitude as i16
        } else {
            magnitude as i16
        };
        code += 1;
    }
    table
}
