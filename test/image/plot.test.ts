import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { certifiedAccuracyVsRadiusSvg, lineChartSvg, niceTicks } from '../../common/plot';

/** tiny well-formedness check: balanced tags, one root, numbers finite */
function checkSvg(svg: string) {
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)([^>]*?)(\/?)>/g)) {
    const [, close, name, , self] = m;
    if (self) continue;
    if (close) assert.equal(stack.pop(), name, `unbalanced </${name}>`);
    else stack.push(name);
  }
  assert.deepEqual(stack, []);
  assert.ok(!/NaN|Infinity|undefined/.test(svg), 'no NaN/Infinity/undefined in the SVG');
  for (const m of svg.matchAll(/ (?:x|y|x1|y1|x2|y2|cx|cy)="([^"]*)"/g)) assert.ok(Number.isFinite(Number(m[1])), m[0]);
  for (const m of svg.matchAll(/points="([^"]*)"/g))
    for (const xy of m[1].split(' '))
      assert.ok(
        xy.split(',').every((v) => Number.isFinite(Number(v))),
        xy,
      );
}

test('niceTicks', () => {
  assert.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(niceTicks(0, 0.75, 6), [0, 0.2, 0.4, 0.6]);
  assert.deepEqual(niceTicks(3, 3), [3]);
});

test('certifiedAccuracyVsRadiusSvg: well-formed, escaped labels, renders with sharp', async () => {
  const svg = certifiedAccuracyVsRadiusSvg(
    [
      {
        label: 'σ = 0.25',
        points: [
          { radius: 0, accuracy: 0.91 },
          { radius: 0.25, accuracy: 0.8 },
          { radius: 0.5, accuracy: 0.42 },
        ],
      },
      {
        label: 'σ = 0.5 <denoised> & more',
        points: [
          { radius: 0, accuracy: 0.7 },
          { radius: 1, accuracy: 0.3 },
          { radius: 1.2, accuracy: NaN },
        ],
      },
    ],
    { title: 'Certified accuracy vs radius', xLabel: 'L2 radius', yLabel: 'certified pixel accuracy' },
  );
  checkSvg(svg);
  assert.ok(svg.includes('σ = 0.25'));
  assert.ok(svg.includes('σ = 0.5 &lt;denoised&gt; &amp; more'));
  assert.ok(svg.includes('Certified accuracy vs radius'));
  assert.equal((svg.match(/<polyline/g) ?? []).length, 2);
  const { data, info } = await sharp(Buffer.from(svg))
    .png()
    .toBuffer()
    .then((b) => sharp(b).raw().toBuffer({ resolveWithObject: true }));
  assert.equal(info.width, 640);
  assert.equal(info.height, 420);
  // the first series colour (#4e79a7) is actually drawn
  let blue = 0;
  for (let i = 0; i < data.length; i += info.channels)
    if (Math.abs(data[i] - 0x4e) < 12 && Math.abs(data[i + 1] - 0x79) < 12 && Math.abs(data[i + 2] - 0xa7) < 12) blue++;
  assert.ok(blue > 100, `${blue} pixels of the series colour`);
});

test('lineChartSvg: generic series, degenerate input stays finite', async () => {
  const svg = lineChartSvg(
    [
      { label: 'certified Dice', points: [0.12, 0.25, 0.5, 1].map((s, i) => ({ x: s, y: 0.8 - 0.2 * i })) },
      { label: 'clean Dice', points: [0.12, 0.25, 0.5, 1].map((s) => ({ x: s, y: 0.85 })) },
    ],
    { title: 'Dice vs σ', xLabel: 'σ', yLabel: 'Dice' },
  );
  checkSvg(svg);
  assert.ok(svg.includes('certified Dice') && svg.includes('clean Dice'));
  await sharp(Buffer.from(svg)).png().toBuffer();
  checkSvg(lineChartSvg([], { title: 'empty', xLabel: 'x', yLabel: 'y' }));
  checkSvg(lineChartSvg([{ label: 'one', points: [{ x: 2, y: 2 }] }], { title: 't', xLabel: 'x', yLabel: 'y' }));
});
