/** The statistics of certification (binomial tails, normal and beta quantiles, Clopper-Pearson): pure math, in common/stats.ts so the preview's p-value readout uses the same code. */
export * from '../../../common/stats';
