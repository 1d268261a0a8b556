/**
 * Certifies one image with n estimation samples in a fresh process and prints its peak RSS, so the
 * benchmark can compare peak memory at n = 100 and n = 1000 (counts stream: it must not grow with n), and
 * (with 'twice') the first certification of a fresh process against the second (cold vs warm).
 */
import { loadConfig } from '../../server/src/config/config';
import { certifyImage } from '../../server/src/pipeline/certifyImage';
import { disposeModels } from '../../server/src/pipeline/models';

async function main() {
  const [image, n, configPath, twice] = process.argv.slice(2);
  const config = await loadConfig(configPath && configPath !== '-' ? configPath : null, { n: Number(n), radiusMap: true });
  const t0 = performance.now();
  const r = await certifyImage({ imagePath: image, config });
  const firstMs = performance.now() - t0; // a fresh process: model load and the runtimes' first runs included
  let secondMs: number | undefined;
  let second: typeof r | undefined;
  if (twice === 'twice') {
    const t1 = performance.now();
    second = await certifyImage({ imagePath: image, config });
    secondMs = performance.now() - t1;
  }
  await disposeModels();
  process.stdout.write(
    JSON.stringify({
      n: Number(n),
      maxRssKiB: process.resourceUsage().maxRSS,
      totalMs: r.report.timings.total,
      firstMs,
      secondMs,
      working: r.report.working,
      timings: r.report.timings,
      secondTimings: second?.report.timings,
      cache: r.report.provenance.segmenter.session?.optimizedModelCache,
    }) + '\n',
  );
}
main().catch((e) => {
  process.stderr.write(String(e?.message ?? e) + '\n');
  process.exit(1);
});
