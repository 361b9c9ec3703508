namespace LlmCostTracker.WorkerService.Budgets;

/// <summary>A threshold crossed by applying usage or by a budget change. <see cref="EventIndex"/> is the index, in
/// the events the ledger was given, of the event that crossed it; null when no event did (a budget change, or a
/// redelivery handing back an alert an earlier attempt claimed but did not publish). <see cref="CrossedAt"/> is when it
/// was crossed, as the alert state keeps it (the crossing event's occurredAt, or the budget change's time), when known.</summary>
public sealed record CrossedThreshold(
    string UserId, string Month, int ThresholdPercent, long SpentMicros, long BudgetMicros, int? EventIndex, DateTimeOffset? CrossedAt = null);
