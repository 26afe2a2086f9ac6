export { DEFAULT_PRICES, BATCH_DISCOUNT, priceFor } from './price-table.ts';
export type { ModelPrice, PriceTable } from './price-table.ts';
export { costOf, estimateCost, emptyUsage, addUsage } from './cost-of.ts';
export type { TokenUsage, UsageTotals, CostOptions } from './cost-of.ts';
