using System.Globalization;
using System.Text;

using LlmCostTracker.Contracts;

namespace LlmCostTracker.Ledger;

/// <summary>The Redis key layout shared by the worker (writes) and the admin API (reads), for a ledger of
/// <see cref="Buckets"/> buckets. A user belongs to one bucket (<see cref="BucketOf"/>), and every key of a bucket
/// carries the bucket's hash tag <c>{llmcost:b&lt;n&gt;}</c>: a bucket's users, their month hashes and budgets, the
/// bucket's share of each month (totals, report index) and its idempotency claims sit in one Redis Cluster slot, so one
/// script call claims and applies a bucket's events atomically, while the buckets spread over the cluster's shards.
/// The layout itself (the bucket count) is stored under <see cref="LayoutKey"/>, so a service configured with
/// another count refuses to start instead of splitting users' months.</summary>
public sealed partial class LedgerKeys
{
    public const int DefaultBuckets = 16;
    public const int MaxBuckets = 1_024;

    /// <summary>String: the bucket count the ledger's data was written with.</summary>
    public const string LayoutKey = "{llmcost}:layout:buckets";

    /// <summary>String: since when (Unix seconds) the ledger has idempotency claims in their current form, XXH128
    /// (0: since it began); until a window and a period later, claims are also made and checked in the older form
    /// (<see cref="ClaimWindow.BothFormsAt"/>).</summary>
    public const string ClaimFormKey = "{llmcost}:layout:claims-xxh128-since";

    private readonly string[] _tags;

    public LedgerKeys(int buckets)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(buckets, MaxBuckets);
        Buckets = buckets;
        _tags = [.. Enumerable.Range(0, buckets).Select(b => string.Create(CultureInfo.InvariantCulture, $"{{llmcost:b{b}}}:"))];
    }

    public int Buckets { get; }

    /// <summary>The user's bucket: FNV-1a (32-bit) of the userId's UTF-8 bytes, modulo <see cref="Buckets"/>. Stable
    /// across processes, runtimes and languages (unlike <c>string.GetHashCode</c>), so any client can compute it.</summary>
    public int BucketOf(string userId) => (int)(Fnv1a(userId) % (uint)Buckets);

    public static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        Span<byte> buffer = stackalloc byte[256];
        var bytes = Encoding.UTF8.GetByteCount(text) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(text, buffer)] : Encoding.UTF8.GetBytes(text);
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * 16777619u;
        }

        return hash;
    }

    /// <summary>Hash: everything about one user's month, so the worker reads it with one HMGET and writes it with
    /// one HSET. Fields: the totals <see cref="Counters"/> (cost in micro-USD, then token and request counts); per
    /// model <see cref="ModelField"/> (<c>model|gpt-4o</c>) → the same counters packed as
    /// <c>cost,input,cached,output,requests,cacheWrite,reasoning</c> (one field a model, see
    /// <see cref="ParseModelCounters"/>); per day <see cref="DayField"/> → cost
    /// (micro-USD); per threshold <see cref="AlertField"/> → <c>pending|eventId|spent|crossedAt</c> (Unix ms) until
    /// published, then <c>sent|...</c>.</summary>
    public string UserMonth(string userId, string month) => string.Concat(_tags[BucketOf(userId)], "u:", userId, ":", month);

    /// <summary>String: the user's monthly budget override in micro-USD (no expiry).</summary>
    public string UserBudget(string userId) => string.Concat(_tags[BucketOf(userId)], "u:", userId, ":budget");

    /// <summary>String: the user's own alert thresholds, comma-separated percentages in ascending order (<c>50,80,100</c>;
    /// empty: no threshold alerts; no expiry); absent means <see cref="BudgetOptions.ThresholdsPercent"/>.</summary>
    public string UserThresholds(string userId) => string.Concat(_tags[BucketOf(userId)], "u:", userId, ":thresholds");

    /// <summary>String: <c>1</c> or <c>0</c>, whether the user's budget is enforced (budget holds refused past it);
    /// absent means <see cref="BudgetOptions.Enforce"/>. Each suffix after the userId is one segment without a colon,
    /// so no user's keys can collide with another's (a userId may hold colons).</summary>
    public string UserEnforce(string userId) => string.Concat(_tags[BucketOf(userId)], "u:", userId, ":enforce");

    /// <summary>Sorted set: the user's budget holds, holdId → expiry (Unix ms). Lives until the last one expires.</summary>
    public string UserHolds(string userId) => string.Concat(_tags[BucketOf(userId)], "u:", userId, ":holds");

    /// <summary>Hash: the user's budget holds, holdId → <c>amount|expiresAt|state</c> (micro-USD, Unix ms; state
    /// <see cref="HoldActive"/>, <c>settled</c> or <c>released</c>), and <see cref="HeldField"/> → the sum of the
    /// active amounts. Next to the month hash in the user's bucket, so a grant checks spend + held atomically and the
    /// worker settles a hold in the same step as it counts its event.</summary>
    public string UserHoldData(string userId) => string.Concat(_tags[BucketOf(userId)], "u:", userId, ":holddata");

    /// <summary>String: the user a holdId was granted to (so <c>DELETE /api/v1/budget-holds/{holdId}</c> finds it),
    /// in the bucket of the holdId, expiring with the hold.</summary>
    public string HoldOwner(string holdId) => string.Concat(_tags[BucketOf(holdId)], "hold:", holdId);

    public const string HeldField = "#held";
    public const string HoldActive = "active";

    /// <summary>Hash: the bucket's share of the month: the total fields of <see cref="UserMonth"/>, and its model
    /// (<see cref="ModelField"/>, packed) and day (<see cref="DayField"/>) fields summed over the bucket's users.</summary>
    public string MonthTotals(int bucket, string month) => string.Concat(_tags[bucket], "m:", month, ":totals");

    /// <summary>Sorted set: the bucket's userIds scored by the month's cost in micro-USD: the report index, no SCAN.</summary>
    public string MonthUsers(int bucket, string month) => string.Concat(_tags[bucket], "m:", month, ":users");

    /// <summary>Set: the claims (128-bit digests of <c>userId|eventId</c>) of the bucket's events that arrived in one
    /// period of the dedup window (<see cref="ClaimWindow"/>), expiring a window after the period.</summary>
    public string Claims(int bucket, string period) => string.Concat(_tags[bucket], "claims:", period);

    /// <summary>Sorted set: the bucket's share of a dimension's month, each value scored by its cost in micro-USD (the
    /// per-dimension report index, no SCAN). Tag keys name the dimension and month before the value, the value last,
    /// each after its own word (<c>tv:</c>, <c>tu:</c>), so a value holding colons cannot collide with another key.</summary>
    public string TagIndex(int bucket, string dimension, string month) => string.Concat(_tags[bucket], "t:", dimension, ":", month, ":index");

    /// <summary>Hash: the bucket's share of one tag value's month, with the fields of <see cref="MonthTotals"/>
    /// (totals, packed model fields, day fields).</summary>
    public string TagValue(int bucket, string dimension, string month, string value) => string.Concat(_tags[bucket], "t:", dimension, ":", month, ":tv:", value);

    /// <summary>Sorted set: the bucket's users of one tag value's month, scored by their cost under it (micro-USD).</summary>
    public string TagUsers(int bucket, string dimension, string month, string value) => string.Concat(_tags[bucket], "t:", dimension, ":", month, ":tu:", value);

    /// <summary>List: the bucket's tag deltas (one element per ledger call with tagged usage, appended in the call's
    /// atomic step) waiting to be folded into its tag values' keys (<c>TagFolder</c>).</summary>
    public string TagDeltas(int bucket) => string.Concat(_tags[bucket], "t:deltas");

    /// <summary>List: the bucket's tag deltas the fold could not read, moved there as they were in the fold's atomic
    /// step, so one bad delta neither holds up the others nor is lost.</summary>
    public string TagRejected(int bucket) => string.Concat(_tags[bucket], "t:rejected");

    /// <summary>Stream: the bucket's daily rollup deltas waiting for the history database, one entry per ledger call
    /// that counted usage (appended in the call's atomic step, field <see cref="RollupStreamField"/>: the
    /// <c>RollupDelta</c> JSON), trimmed by the rollup writer once they are in PostgreSQL. Entry ids are the Redis
    /// clock, so the oldest entry's id is the rollup lag.</summary>
    public string RollupStream(int bucket) => string.Concat(_tags[bucket], "r:stream");

    public const string RollupStreamField = "d";

    /// <summary>Stream: the bucket's rollup stream entries the writer could not read, set aside under their own ids with
    /// their fields and <see cref="RollupRejectedErrorField"/>, so one bad entry neither stops the rollups nor is lost.</summary>
    public string RollupRejectedStream(int bucket) => string.Concat(_tags[bucket], "r:rejected");

    public const string RollupRejectedErrorField = "error";

    /// <summary>A rollup stream entry's second field, present when the ledger call found some of its events already
    /// counted: their positions and counters, which the delta still sums, for the writer to take out.</summary>
    public const string RollupDuplicatesField = "x";

    /// <summary>String: set by a re-price's correction of a month still held in Redis, in the same atomic step
    /// (<c>reprice-ledger.lua</c>), so the correction is applied once per run, bucket, month and part however often
    /// it is retried; expires with the month.</summary>
    public string RepriceMarker(int bucket, long run, string month, int part) =>
        string.Concat(_tags[bucket], "reprice:", run.ToString(CultureInfo.InvariantCulture), ":", month, ":", part.ToString(CultureInfo.InvariantCulture));

    /// <summary>Set: a dimension's values admitted in a month, at most <see cref="AttributionOptions.MaxValuesPerDimension"/>
    /// (one key for the whole ledger: the guard counts values over every bucket).</summary>
    public static string TagRegistry(string dimension, string month) => $"{{llmcost}}:t:{dimension}:{month}:registry";

    /// <summary>String: set once when a dimension's month first refuses a value (so its log line is written once).</summary>
    public static string TagOverflow(string dimension, string month) => $"{{llmcost}}:t:{dimension}:{month}:overflow";

    /// <summary>String: a tag value's monthly budget in micro-USD (no expiry).</summary>
    public static string TagBudget(string dimension, string value) => $"{{llmcost}}:tb:{dimension}:{value}";

    /// <summary>String: a tag value's own alert thresholds, as <see cref="UserThresholds"/> (no expiry; absent: the
    /// configured ones). In the <c>{llmcost}</c> slot with the budgets, so one MGET reads both.</summary>
    public static string TagThresholds(string dimension, string value) => $"{{llmcost}}:tt:{dimension}:{value}";

    /// <summary>String: a tag value's threshold alert of a month, claimed once (SET NX) as <c>spent|crossedAt</c>.</summary>
    public static string TagAlert(string dimension, string month, int thresholdPercent, string value) =>
        string.Create(CultureInfo.InvariantCulture, $"{{llmcost}}:t:{dimension}:{month}:ta:{thresholdPercent}:{value}");

    /// <summary>String: a tag value's burn-rate forecast alert of a month, claimed once (SET NX, expiring with the month)
    /// as <see cref="ForecastClaim"/>. In the <c>{llmcost}</c> slot with the budgets, so the forecast reads a page of
    /// values' budgets and claims in one MGET.</summary>
    public static string TagForecast(string dimension, string month, string value) => $"{{llmcost}}:t:{dimension}:{month}:tf:{value}";

    /// <summary><c>model|{model}</c>.</summary>
    public static string ModelField(string model) => $"{ModelPrefix}{model}";

    /// <summary>Reads a <see cref="ModelField"/>'s value, the <see cref="Counters"/> in that order (a value of five
    /// counters, written before cache writes and reasoning were counted, reads with those as 0).</summary>
    public static long[] ParseModelCounters(string value)
    {
        var parts = value.Split(',');
        if (parts.Length != 5 && parts.Length != Counters.Length)
        {
            throw new FormatException($"A model field holds {Counters.Length} counters (or 5), not '{value}'.");
        }

        var counters = new long[Counters.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            counters[i] = long.Parse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture);
        }

        return counters;
    }

    /// <summary><c>day|yyyy-MM-dd</c>.</summary>
    public static string DayField(string day) => $"{DayPrefix}{day}";

    /// <summary><c>day|yyyy-MM-dd</c> of a UTC day.</summary>
    public static string DayField(DateOnly day) => DayField(day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));

    /// <summary>The burn-rate forecast's claim in a user's month: <c>sent|exhaustedAt|forecastAt</c> (Unix ms) once
    /// the month's forecast alert went out. Under <see cref="AlertPrefix"/>, so readers that skip alert states skip it.</summary>
    public const string ForecastField = AlertPrefix + "forecast";

    /// <summary>The value of <see cref="ForecastField"/>: <c>sent|exhaustedAt|forecastAt</c> (Unix ms).</summary>
    public static string ForecastClaim(DateTimeOffset exhaustedAt, DateTimeOffset forecastAt) => string.Create(CultureInfo.InvariantCulture,
        $"{AlertSent}|{exhaustedAt.ToUnixTimeMilliseconds()}|{forecastAt.ToUnixTimeMilliseconds()}");

    /// <summary>Reads <see cref="ForecastClaim"/>: when the forecast was made and the run-out it projected, if it says.</summary>
    public static (DateTimeOffset ForecastAt, DateTimeOffset ExhaustedAt)? ParseForecastClaim(string claim)
    {
        var parts = claim.Split('|');
        return parts.Length == 3
            && long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var exhaustedAt)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var forecastAt)
            ? (DateTimeOffset.FromUnixTimeMilliseconds(forecastAt), DateTimeOffset.FromUnixTimeMilliseconds(exhaustedAt))
            : null;
    }

    /// <summary><c>alert|{threshold}</c>.</summary>
    public static string AlertField(int thresholdPercent) => $"{AlertPrefix}{thresholdPercent}";

    /// <summary>When an alert state says its threshold was crossed (Unix ms, its last of four fields), if it says.</summary>
    public static DateTimeOffset? CrossedAt(string alertState)
    {
        var parts = alertState.Split('|');
        return parts.Length >= 4 && long.TryParse(parts[^1], NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : null;
    }
    public const string ModelPrefix = "model|";
    public const string DayPrefix = "day|";
    public const string AlertPrefix = "alert|";

    /// <summary>An alert state's first word: claimed by the write that crossed the threshold, not yet published.</summary>
    public const string AlertPending = "pending";

    /// <summary>An alert state's first word once published.</summary>
    public const string AlertSent = "sent";

    public const string Cost = "cost";
    public const string Input = "input";
    public const string Cached = "cached";
    public const string Output = "output";
    public const string Requests = "requests";
    public const string CacheWrite = "cacheWrite";
    public const string Reasoning = "reasoning";

    /// <summary>The total fields, in the order the scripts and the packed model fields use (cost first; the two
    /// last came later, so a model field written before them holds five values).</summary>
    public static readonly string[] Counters = [Cost, Input, Cached, Output, Requests, CacheWrite, Reasoning];

    /// <summary>The position of <see cref="Requests"/> in <see cref="Counters"/>, 1-based as the scripts count.</summary>
    public const int RequestsPosition = 5;

    /// <summary>Refuses a layout other than the one the data was written with.</summary>
    public void EnsureMatchesStored(string? stored)
    {
        if (stored is not null && stored != Buckets.ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException(
                $"Ledger:Buckets is {Buckets}, but the ledger in Redis was written with {stored} buckets (key {LayoutKey}). " +
                $"Changing it would split users' months between buckets: set Ledger:Buckets={stored}, or start on an empty Redis.");
        }
    }

    /// <summary>Stores this layout where none is (<paramref name="claim"/>: SET NX GET of <see cref="LayoutKey"/>,
    /// returning what was there; <c>claim-layout.lua</c>) and refuses another, trying again while <paramref name="isTransient"/> says Redis
    /// could not be reached, up to <see cref="LedgerOptions.StartupCheckTimeout"/>.</summary>
    public async Task CheckStoredLayoutAsync(
        Func<Task<string?>> claim, Func<Exception, bool> isTransient, LedgerOptions options, TimeProvider clock, CancellationToken ct)
    {
        var deadline = clock.GetUtcNow() + options.StartupCheckTimeout;
        while (true)
        {
            string? stored;
            try
            {
                stored = await claim();
            }
            catch (Exception ex) when (isTransient(ex) && clock.GetUtcNow() < deadline)
            {
                await Task.Delay(options.StartupCheckRetryDelay, clock, ct);
                continue;
            }

            EnsureMatchesStored(stored);
            return;
        }
    }
}
