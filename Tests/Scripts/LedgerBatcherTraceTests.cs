using System.Diagnostics;
using LlmCostTracker.Contracts;
using LlmCostTracker.Ledger;
using LlmCostTracker.WorkerService;
using LlmCostTracker.WorkerService.Aggregation;
using LlmCostTracker.WorkerService.Chunks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.Tests.Scripts;

/// <summary>The trace of a shared ledger write: the real batcher and ledger against a bare redis-server, the
/// worker's spans captured in this process.</summary>
public sealed class LedgerBatcherTraceTests(BareRedis redis) : IClassFixture<BareRedis>
{
    private static readonly ActivitySource Messages = new("LlmCostTracker.Tests.Messages");

    [Fact]
    public async Task A_shared_write_is_in_the_first_messages_trace_links_the_others_and_each_message_links_it()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is WorkerMetrics.MeterName or "LlmCostTracker.Tests.Messages",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            SampleUsingParentId = (ref ActivityCreationOptions<string> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (stopped)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var ledger = new CostLedger(redis.Connection, new LedgerKeys(LedgerKeys.DefaultBuckets), Options.Create(new BudgetOptions()),
            Options.Create(new LedgerOptions()), TimeProvider.System);
        // A write waits up to this long for more messages under light load: both messages below join one write.
        var batcher = new LedgerBatcher(ledger, Options.Create(new AggregationOptions { MaxWriteDelay = TimeSpan.FromMilliseconds(500) }),
            NullLogger<LedgerBatcher>.Instance);
        await batcher.StartAsync(default);
        try
        {
            // Each message's span is a root here (in the worker it continues its request's trace).
            Activity.Current = null;
            Activity a, b;
            Task<LedgerResult> first, second;
            using (a = Messages.StartActivity("message a", ActivityKind.Consumer)!)
            {
                first = batcher.ApplyAsync([Event()], default);
            }

            using (b = Messages.StartActivity("message b", ActivityKind.Consumer)!)
            {
                second = batcher.ApplyAsync([Event()], default);
            }

            await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(30));
            // The write's span ends just after it answers the messages.
            var write = await Integration.Eventually.ReturnsAsync(
                () =>
                {
                    lock (stopped)
                    {
                        return Task.FromResult(stopped.SingleOrDefault(s => s.DisplayName == "write ledger"));
                    }
                },
                found => found is not null, TimeSpan.FromSeconds(10), "the write's span to end");

            Assert.Equal(a.TraceId, write!.TraceId);
            Assert.Equal(a.SpanId, write.ParentSpanId);
            Assert.Equal([b.Context], write.Links.Select(l => l.Context));
            Assert.Contains(a.Links, l => l.Context == write.Context);
            Assert.Contains(b.Links, l => l.Context == write.Context);
        }
        finally
        {
            await batcher.StopAsync(default);
        }
    }

    private static PricedUsage Event() => new(new LlmUsage
    {
        EventId = Guid.NewGuid().ToString("N"), UserId = $"trace-{Guid.NewGuid():N}", Model = "gpt-4o", InputTokens = 1, CachedInputTokens = 0,
        OutputTokens = 1, OccurredAt = DateTimeOffset.UtcNow,
    }, 1);
}
