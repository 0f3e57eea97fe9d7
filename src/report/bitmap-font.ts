/**
 * A 5×7 pixel bitmap font (capitals, digits, a little punctuation) for the legend of the coverage
 * map: PNG libraries draw no text, and a map needs its key. Lower case is drawn as capitals;
 * characters without a glyph are drawn as a hollow box.
 */

export const GLYPH_WIDTH = 5
export const GLYPH_HEIGHT = 7
/** horizontal advance per character, in font pixels (glyph + one column of spacing) */
export const GLYPH_ADVANCE = 6

const GLYPHS: Record<string, string> = {
  A: '.###. #...# #...# ##### #...# #...# #...#',
  B: '####. #...# #...# ####. #...# #...# ####.',
  C: '.###. #...# #.... #.... #.... #...# .###.',
  D: '####. #...# #...# #...# #...# #...# ####.',
  E: '##### #.... #.... ####. #.... #.... #####',
  F: '##### #.... #.... ####. #.... #.... #....',
  G: '.###. #...# #.... #.### #...# #...# .####',
  H: '#...# #...# #...# ##### #...# #...# #...#',
  I: '.###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.',
  J: '..### ...#. ...#. ...#. ...#. #..#. .##..',
  K: '#...# #..#. #.#.. ##... #.#.. #..#. #...#',
  L: '#.... #.... #.... #.... #.... #.... #####',
  M: '#...# ##.## #.#.# #.#.# #...# #...# #...#',
  N: '#...# #...# ##..# #.#.# #..## #...# #...#',
  O: '.###. #...# #...# #...# #...# #...# .###.',
  P: '####. #...# #...# ####. #.... #.... #....',
  Q: '.###. #...# #...# #...# #.#.# #..#. .##.#',
  R: '####. #...# #...# ####. #.#.. #..#. #...#',
  S: '.#### #.... #.... .###. ....# ....# ####.',
  T: '##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..',
  U: '#...# #...# #...# #...# #...# #...# .###.',
  V: '#...# #...# #...# #...# #...# .#.#. ..#..',
  W: '#...# #...# #...# #.#.# #.#.# #.#.# .#.#.',
  X: '#...# #...# .#.#. ..#.. .#.#. #...# #...#',
  Y: '#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..',
  Z: '##### ....# ...#. ..#.. .#... #.... #####',
  0: '.###. #...# #..## #.#.# ##..# #...# .###.',
  1: '..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.',
  2: '.###. #...# ....# ...#. ..#.. .#... #####',
  3: '####. ....# ....# .###. ....# ....# ####.',
  4: '...#. ..##. .#.#. #..#. ##### ...#. ...#.',
  5: '##### #.... ####. ....# ....# #...# .###.',
  6: '..##. .#... #.... ####. #...# #...# .###.',
  7: '##### ....# ...#. ..#.. .#... .#... .#...',
  8: '.###. #...# #...# .###. #...# #...# .###.',
  9: '.###. #...# #...# .#### ....# ...#. .##..',
  ' ': '..... ..... ..... ..... ..... ..... .....',
  '.': '..... ..... ..... ..... ..... .##.. .##..',
  ',': '..... ..... ..... ..... .##.. ..#.. .#...',
  ':': '..... .##.. .##.. ..... .##.. .##.. .....',
  '-': '..... ..... ..... ##### ..... ..... .....',
  '+': '..... ..#.. ..#.. ##### ..#.. ..#.. .....',
  '=': '..... ..... ##### ..... ##### ..... .....',
  '/': '....# ....# ...#. ..#.. .#... #.... #....',
  '%': '##..# ##..# ...#. ..#.. .#... #..## #..##',
  '(': '...#. ..#.. .#... .#... .#... ..#.. ...#.',
  ')': '.#... ..#.. ...#. ...#. ...#. ..#.. .#...',
  "'": '..#.. ..#.. .#... ..... ..... ..... .....',
  '×': '..... #...# .#.#. ..#.. .#.#. #...# .....',
  '#': '.#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.',
  '?': '.###. #...# ....# ...#. ..#.. ..... ..#..',
  _: '..... ..... ..... ..... ..... ..... #####'
}

const MISSING = '##### #...# #...# #...# #...# #...# #####'

/** Each glyph as 7 rows of 5 booleans. */
const BITMAPS = new Map<string, boolean[][]>(Object.entries(GLYPHS).map(([ch, rows]) => [ch, parseGlyph(rows)]))
const MISSING_BITMAP = parseGlyph(MISSING)

function parseGlyph (rows: string): boolean[][] {
  const r = rows.split(' ')
  if (r.length !== GLYPH_HEIGHT || r.some(x => x.length !== GLYPH_WIDTH)) throw new Error(`bad glyph "${rows}"`)
  return r.map(row => [...row].map(c => c === '#'))
}

/** The glyph of a character (lower case maps to capitals; unknown characters to a box). */
export function glyph (ch: string): boolean[][] {
  return BITMAPS.get(ch) ?? BITMAPS.get(ch.toUpperCase()) ?? MISSING_BITMAP
}

/** Width in image pixels of `text` drawn at `scale`. */
export function textWidth (text: string, scale: number): number {
  return text.length === 0 ? 0 : ([...text].length * GLYPH_ADVANCE - 1) * scale
}

/**
 * Draws `text` with its top-left corner at (x, y), each font pixel a scale × scale square, by
 * calling `plot` for every lit image pixel (the caller clips and blends).
 */
export function drawText (text: string, x: number, y: number, scale: number, plot: (px: number, py: number) => void): void {
  let cx = x
  for (const ch of text) {
    const g = glyph(ch)
    for (let gy = 0; gy < GLYPH_HEIGHT; gy++) {
      for (let gx = 0; gx < GLYPH_WIDTH; gx++) {
        if (!g[gy][gx]) continue
        for (let dy = 0; dy < scale; dy++) {
          for (let dx = 0; dx < scale; dx++) plot(cx + gx * scale + dx, y + gy * scale + dy)
        }
      }
    }
    cx += GLYPH_ADVANCE * scale
  }
}
