/**
 * A live decision (LiveDecision: a promotion step's or a shadow's vs_control / vs_target) as the API gives it, for the
 * dashboard's tests that render one: 600 queries a side, 540 effective, tolerance 2 points.
 */
export const liveDecisionOf = (decision: string, change: number, interval95: [number, number]) => ({
  decision,
  change,
  interval95,
  tolerance: 0.02,
  queries: 600,
  reference_queries: 600,
  effective_queries: 540,
  more_data_factor: null,
});
