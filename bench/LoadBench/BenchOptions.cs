using System.Globalization;

namespace LlmCostTracker.LoadBench;

public sealed record BenchOptions
{
    public int SingleEvents { get; init; } = 100_000;
    public int Concurrency { get; init; } = 256;
    public int BatchEvents { get; init; } = 1_000_000;
    public int BatchSize { get; init; } = 1_000;
    public int BatchConcurrency { get; init; } = 8;
    public int PacedRate { get; init; } = 5_000;
    public int PacedSeconds { get; init; } = 10;
    public int Users { get; init; } = 2_000;
    public int WarmUpEvents { get; init; } = 20_000;

    /// <summary>Events sent in batches by each warm-up pass: with 40 messages a pass the JIT still took ~9% of the
    /// worker's samples in the measured batch phase, with 200 under 1%.</summary>
    public int WarmUpBatchEvents { get; init; } = 200_000;
    public int[] ReportUsers { get; init; } = [1_000, 10_000, 100_000];
    public int ReportRequests { get; init; } = 200;

    /// <summary>Clients reach the API through the orchestrator's development proxy (as under <c>eng/run.sh</c>)
    /// instead of directly, as in a deployment.</summary>
    public bool Proxied { get; init; }

    /// <summary>Every event carries three tags: team (of <see cref="TagTeams"/>, one a user), feature (of
    /// <see cref="TagFeatures"/>, any) and environment (of 3, one a user).</summary>
    public bool Tags { get; init; }

    public int TagTeams { get; init; } = 50;

    public int TagFeatures { get; init; } = 20;

    /// <summary>Run only the budget hold phase (after the warm-up): <see cref="HoldRate"/> holds a second, each
    /// granted one settled by its usage event.</summary>
    public bool HoldsOnly { get; init; }

    public int HoldRate { get; init; } = 2_000;

    /// <summary>The share (percent) of granted holds followed by their call's usage event, which settles them.</summary>
    public int HoldSettlePercent { get; init; } = 100;

    /// <summary>Single events sent before the warm-up, from the first request after the app is healthy (the cold
    /// phase: the runtime still compiling at tier 0 and the heaps sizing themselves); 0: none. Against the warm
    /// single-event phase later in the same run.</summary>
    public int ColdEvents { get; init; }

    /// <summary>Start the app, write its API address, ingest key and admin key to <see cref="ServeFile"/> (a line each),
    /// keep it up this many seconds for another load tool (bench/wrk-holds.sh, bench/peer.sh), then stop it; 0: the
    /// benchmark's own phases.</summary>
    public int ServeSeconds { get; init; }

    public string ServeFile { get; init; } = Path.Combine(Path.GetTempPath(), "llmcost-bench-serve.txt");

    /// <summary>Only the report phases (at <see cref="ReportUsers"/>, default 10,000 here) and the cost dashboard's
    /// overview page load at each.</summary>
    public bool DashboardOnly { get; init; }

    /// <summary>Also the OTLP phases (<c>POST /v1/traces</c>, http/protobuf): one usage span an export, and
    /// <see cref="OtlpBatchSpans"/> spans an export, each as many spans as its JSON counterpart has events.</summary>
    public bool Otlp { get; init; }

    /// <summary>Only pairs of single-event phases, JSON and OTLP one span an export, the order alternating, with each
    /// pair's ratio (issue #33's single-span target); implies the OTLP warm-up.</summary>
    public int OtlpPairs { get; init; }

    /// <summary>Spans in one OTLP export: the OpenTelemetry SDKs' default batch (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).</summary>
    public int OtlpBatchSpans { get; init; } = 512;

    /// <summary>Run the fault drill instead of the load phases (<see cref="FaultDrill"/>).</summary>
    public bool Drill { get; init; }

    public int DrillRounds { get; init; } = 3;

    /// <summary>Worker replicas in the drill's app (one of them is stopped and started each round).</summary>
    public int DrillWorkers { get; init; } = 2;

    /// <summary>Clients posting single events, each pausing <see cref="DrillClientPause"/> between posts.</summary>
    public int DrillClients { get; init; } = 8;

    public TimeSpan DrillClientPause { get; init; } = TimeSpan.FromMilliseconds(20);

    public int DrillBatchSize { get; init; } = 200;

    public TimeSpan DrillBatchPause { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Normal running before each fault (and after the last).</summary>
    public TimeSpan DrillSteady { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>How long each fault lasts before the resource is started again.</summary>
    public TimeSpan DrillDown { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary><c>Infrastructure:RedisShards</c> for the app: 1 (one redis-server) or 3 to 6 (a Redis Cluster).</summary>
    public int RedisShards { get; init; } = 1;

    /// <summary><c>Infrastructure:RedisAppendFsync</c> for the app's redis-server: <c>always</c> (the default) or
    /// <c>everysec</c>, to measure what syncing each write costs.</summary>
    public string RedisAppendFsync { get; init; } = "always";

    /// <summary><c>--single 100000 --concurrency 256 --batch-events 1000000 --batch-size 1000 --rate 5000 --seconds 10 --warm-up 20000 --warm-up-batches 200000 --quick --proxied --tags --redis-shards 3 --holds --hold-rate 2000 --hold-settle 100 --drill --drill-rounds 3 --otlp --otlp-pairs 6 --otlp-batch 512 --dashboard --serve 120 --serve-file /tmp/serve.txt --cold 60000</c></summary>
    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (var i = 0; i < args.Length; i++)
        {
            int Next() => int.Parse(args[++i], CultureInfo.InvariantCulture);
            options = args[i] switch
            {
                "--single" => options with { SingleEvents = Next() },
                "--concurrency" => options with { Concurrency = Next() },
                "--batch-events" => options with { BatchEvents = Next() },
                "--batch-size" => options with { BatchSize = Next() },
                "--rate" => options with { PacedRate = Next() },
                "--seconds" => options with { PacedSeconds = Next() },
                "--warm-up" => options with { WarmUpEvents = Next() },
                "--warm-up-batches" => options with { WarmUpBatchEvents = Next() },
                "--quick" => options with { WarmUpEvents = 5_000, WarmUpBatchEvents = 20_000, SingleEvents = 10_000, BatchEvents = 50_000, PacedSeconds = 3, ReportUsers = [1_000, 10_000], ReportRequests = 50 },
                "--proxied" => options with { Proxied = true },
                "--tags" => options with { Tags = true },
                "--redis-shards" => options with { RedisShards = Next() },
                "--redis-fsync" => options with { RedisAppendFsync = args[++i] },
                "--holds" => options with { HoldsOnly = true, PacedSeconds = 30 },
                "--hold-rate" => options with { HoldRate = Next() },
                "--hold-settle" => options with { HoldSettlePercent = Next() },
                "--drill" => options with { Drill = true },
                "--otlp" => options with { Otlp = true },
                "--otlp-pairs" => options with { Otlp = true, OtlpPairs = Next() },
                "--otlp-batch" => options with { OtlpBatchSpans = Next() },
                "--dashboard" => options with { DashboardOnly = true, ReportUsers = [10_000], ReportRequests = 50 },
                "--drill-rounds" => options with { DrillRounds = Next() },
                "--serve" => options with { ServeSeconds = Next() },
                "--cold" => options with { ColdEvents = Next() },
                "--serve-file" => options with { ServeFile = args[++i] },
                _ => throw new ArgumentException($"Unknown argument {args[i]}"),
            };
        }

        return options;
    }
}
