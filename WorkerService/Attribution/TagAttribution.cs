using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.Ledger.Tags;
using LlmCostTracker.WorkerService.Chunks;
using MassTransit;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace LlmCostTracker.WorkerService.Attribution;

/// <summary>The worker's side of tagged usage around a ledger write: before it, the cardinality guard maps each value
/// past <see cref="AttributionOptions.MaxValuesPerDimension"/> a month to <see cref="TagValidator.OtherValue"/>
/// (<c>Ledger/Scripts/admit-tags.lua</c>); after each fold of the tag deltas (<see cref="TagFolder"/>), the budgets of the
/// values it touched are checked and a threshold crossed is published once per value, month and threshold (claimed
/// with SET NX, so concurrent folders publish it once).</summary>
public sealed class TagAttribution(
    IConnectionMultiplexer redis, LedgerKeys keys, IBus bus, IOptions<AttributionOptions> attribution, IOptions<BudgetOptions> budgets,
    IMeterFactory meters, TimeProvider clock, ILogger<TagAttribution> logger)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Answers already had, (dimension, month, value) → the value counted: an answer never changes within
    /// a month (admit-tags.lua), so it is kept until the cache is full, then the cache starts again.</summary>
    private readonly ConcurrentDictionary<(string Dimension, UsageMonth Month, string Value), string> _answers = new();
    private const int MaxCachedAnswers = 200_000;

    private readonly Counter<long> _overflowed = meters.Create(WorkerMetrics.MeterName).CreateCounter<long>(
        "llmcost.tags.overflowed", "{event}", "Tagged usage counted under (other): its dimension had Attribution:MaxValuesPerDimension values that month.");

    private readonly Counter<long> _alerts = meters.Create(WorkerMetrics.MeterName).CreateCounter<long>(
        "llmcost.tag_alerts.published", "{alert}", "Tag budget alerts published.");

    /// <summary>The events with each tag value past its dimension's cap replaced by <see cref="TagValidator.OtherValue"/>,
    /// and any tag the API would refuse (a message from another sender) left out; the same list when nothing changes.
    /// Events read from one message share their tag sets (LlmUsageWireConverter pools them), so each distinct set and
    /// month is mapped once, not each event.</summary>
    public async Task<IReadOnlyList<PricedUsage>> MapAsync(IReadOnlyList<PricedUsage> events)
    {
        Dictionary<SetInMonth, Mapping>? sets = null;
        Dictionary<(string Dimension, UsageMonth Month, string Value), string>? answers = null;
        List<(string Dimension, UsageMonth Month, string Value)>? unknown = null;
        foreach (var e in events)
        {
            if (e.Usage.Tags is not { Count: > 0 } tags)
            {
                continue;
            }

            var set = new SetInMonth(tags, LedgerCalendar.DayOf(e.Usage.OccurredAt).Month);
            if (!(sets ??= []).TryAdd(set, default))
            {
                continue;
            }

            foreach (var (dimension, value) in tags)
            {
                var key = (dimension, set.Month, value);
                // Kept for this call: the cache may start again before the sets are mapped below.
                if ((answers ??= []).ContainsKey(key) || !Counted(dimension, value))
                {
                    continue;
                }

                if (_answers.TryGetValue(key, out var answer))
                {
                    answers[key] = answer;
                }
                else
                {
                    answers[key] = value;
                    (unknown ??= []).Add(key);
                }
            }
        }

        if (sets is null)
        {
            return events;
        }

        if (unknown is not null)
        {
            foreach (var (key, answer) in await AskAsync(unknown))
            {
                answers![key] = answer;
            }
        }

        var changed = false;
        foreach (var set in sets.Keys.ToList())
        {
            Dictionary<string, string>? counted = null;
            List<string>? overflowed = null;
            foreach (var (dimension, value) in set.Tags)
            {
                var answer = answers!.TryGetValue((dimension, set.Month, value), out var a) ? a : null;
                if (answer != value)
                {
                    counted ??= new Dictionary<string, string>(set.Tags, StringComparer.Ordinal);
                    if (answer is null)
                    {
                        counted.Remove(dimension);
                    }
                    else
                    {
                        counted[dimension] = answer;
                        (overflowed ??= []).Add(dimension);
                    }
                }
            }

            sets[set] = counted is null ? new Mapping(set.Tags, null) : new Mapping(counted.Count > 0 ? counted : null, overflowed);
            changed |= counted is not null;
        }

        if (!changed)
        {
            // The usual case: every value admitted and valid, so no event needs a look.
            return events;
        }

        List<PricedUsage>? mapped = null;
        for (var i = 0; i < events.Count; i++)
        {
            var e = events[i];
            if (e.Usage.Tags is not { Count: > 0 } tags)
            {
                continue;
            }

            var mapping = sets[new SetInMonth(tags, LedgerCalendar.DayOf(e.Usage.OccurredAt).Month)];
            if (ReferenceEquals(mapping.Tags, tags))
            {
                continue;
            }

            foreach (var dimension in mapping.Overflowed ?? [])
            {
                _overflowed.Add(1, new KeyValuePair<string, object?>("llmcost.tag.dimension", dimension));
            }

            mapped ??= [.. events];
            mapped[i] = e with { Usage = e.Usage with { Tags = mapping.Tags } };
        }

        return mapped ?? events;

        bool Counted(string dimension, string value) =>
            TagValidator.IsValue(value) && Array.IndexOf(attribution.Value.Dimensions, dimension) >= 0;
    }

    /// <summary>A tag set (by reference: the wire converter shares equal ones) in a month.</summary>
    private readonly record struct SetInMonth(IReadOnlyDictionary<string, string> Tags, UsageMonth Month)
    {
        public bool Equals(SetInMonth other) => ReferenceEquals(Tags, other.Tags) && Month == other.Month;

        public override int GetHashCode() => HashCode.Combine(RuntimeHelpers.GetHashCode(Tags), Month);
    }

    /// <summary>What a set is counted as (the same instance when unchanged) and the dimensions it overflowed.</summary>
    private readonly record struct Mapping(IReadOnlyDictionary<string, string>? Tags, List<string>? Overflowed);

    /// <summary>Asks admit-tags.lua about values not seen yet; returns (and keeps) each one's answer.</summary>
    private async Task<Dictionary<(string Dimension, UsageMonth Month, string Value), string>> AskAsync(
        IReadOnlyList<(string Dimension, UsageMonth Month, string Value)> values)
    {
        var call = AdmitTagsCall.Encode(values, attribution.Value.MaxValuesPerDimension);
        TagAdmission[] replies;
        using (RedisSpans.Start("EVALSHA", 1))
        {
            replies = AdmitTagsCall.Decode(await AdmitTagsCall.Script.EvaluateAsync(redis.GetDatabase(), call.Keys, call.Args));
        }

        if (_answers.Count + values.Count > MaxCachedAnswers)
        {
            _answers.Clear();
        }

        var answers = new Dictionary<(string Dimension, UsageMonth Month, string Value), string>();
        for (var i = 0; i < values.Count; i++)
        {
            var key = values[i];
            var reply = replies[i];
            answers[key] = _answers[key] = reply == TagAdmission.Admitted ? key.Value : TagValidator.OtherValue;
            if (reply == TagAdmission.FirstRefusal)
            {
                logger.LogWarning(
                    "Tag dimension {Dimension} reached {Max} values in {Month}: further values are counted as {Other} (Attribution:MaxValuesPerDimension)",
                    key.Dimension, attribution.Value.MaxValuesPerDimension, key.Month.Key, TagValidator.OtherValue);
            }
        }

        return answers;
    }

    /// <summary>After a fold (<see cref="TagFolder"/>) of the values <paramref name="touched"/>: each value with a
    /// budget whose month's spend, summed over the buckets, reached a threshold publishes that threshold once.</summary>
    public async Task CheckBudgetsAsync(IReadOnlyCollection<(string Dimension, string Value, string Month)> touched)
    {
        if (touched.Count == 0)
        {
            return;
        }

        var db = redis.GetDatabase();
        var tagsTouched = touched.ToList();
        RedisValue[] stored;
        using (RedisSpans.Start("MGET", 1))
        {
            // Every budget and thresholds key is in the {llmcost} slot: one MGET, on a cluster too. Value i's budget
            // is at 2i, its own thresholds at 2i + 1.
            stored = await db.StringGetAsync([.. tagsTouched.SelectMany(t => new RedisKey[] { LedgerKeys.TagBudget(t.Dimension, t.Value), LedgerKeys.TagThresholds(t.Dimension, t.Value) })]);
        }

        for (var i = 0; i < tagsTouched.Count; i++)
        {
            var amount = stored[2 * i];
            if (amount.HasValue && (long)amount > 0)
            {
                await CheckAsync(db, tagsTouched[i], (long)amount, BudgetOptions.ParseThresholds(stored[2 * i + 1]) ?? budgets.Value.ThresholdsPercent);
            }
        }
    }

    private async Task CheckAsync(IDatabase db, (string Dimension, string Value, string Month) tag, long budget, int[] thresholds)
    {
        var (dimension, value, month) = tag;
        long spent;
        using (RedisSpans.Start("HGET", keys.Buckets))
        {
            var shares = await Task.WhenAll(Enumerable.Range(0, keys.Buckets).Select(b => db.HashGetAsync(keys.TagValue(b, dimension, month, value), LedgerKeys.Cost)));
            spent = shares.Sum(s => s.HasValue ? (long)s : 0);
        }

        foreach (var threshold in thresholds)
        {
            if ((decimal)spent * 100 < (decimal)budget * threshold)
            {
                continue;
            }

            var now = clock.GetUtcNow();
            var claim = LedgerKeys.TagAlert(dimension, month, threshold, value);
            var expiry = UsageMonth.Parse(month).ExpiresAt - now;
            if (expiry <= TimeSpan.Zero || !await db.StringSetAsync(claim, string.Create(CultureInfo.InvariantCulture, $"{spent}|{now.ToUnixTimeMilliseconds()}"), expiry, When.NotExists))
            {
                continue;
            }

            try
            {
                await PublishAsync(new TagBudgetThresholdCrossed
                {
                    Dimension = dimension,
                    Value = value,
                    Month = month,
                    ThresholdPercent = threshold,
                    SpentUsd = BudgetOptions.ToUsd(spent),
                    BudgetUsd = BudgetOptions.ToUsd(budget),
                    OccurredAt = now,
                });
            }
            catch
            {
                // Not published: the claim goes, so the next fold that touches the value publishes it.
                await db.KeyDeleteAsync(claim);
                throw;
            }
        }
    }

    private async Task PublishAsync(TagBudgetThresholdCrossed alert)
    {
        using var activity = WorkerMetrics.ActivitySource.StartActivity("publish tag budget alert", ActivityKind.Producer);
        activity?.SetTag("llmcost.threshold_percent", alert.ThresholdPercent);
        activity?.SetTag("llmcost.tag.dimension", alert.Dimension);
        using (RedisSpans.Start("PUBLISH", 1))
        {
            await redis.GetSubscriber().PublishAsync(
                RedisChannel.Literal(AlertChannels.ForTag(alert.Dimension, alert.Value)), JsonSerializer.Serialize(alert, Json));
        }

        await bus.Publish(alert);
        _alerts.Add(1, new KeyValuePair<string, object?>("llmcost.threshold_percent", alert.ThresholdPercent));
        logger.LogInformation("Tag budget alert: {Dimension}={Value} crossed {Threshold}% of {BudgetUsd} USD in {Month} (spent {SpentUsd} USD)",
            alert.Dimension, alert.Value, alert.ThresholdPercent, alert.BudgetUsd, alert.Month, alert.SpentUsd);
    }
}
