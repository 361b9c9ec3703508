using System.Net;
using System.Runtime.CompilerServices;
using LlmCostTracker.CostTracking;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace LlmCostTracker.Tests.Integration;

/// <summary>The CostTracking library as another service would use it: a host of its own, sending to the running
/// app's ingestion API.</summary>
[Collection(AppCollection.Name)]
public sealed class CostTrackingTests(AppFixture app)
{
    private IHost BuildClientHost(Action<IServiceCollection>? configure = null, Uri? endpoint = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration["CostTracking:Endpoint"] = (endpoint ?? app.App.GetEndpoint("apiservice", "http")).ToString();
        builder.Configuration["CostTracking:ApiKey"] = app.IngestApiKey;
        builder.AddLlmCostTracking();
        configure?.Invoke(builder.Services);
        return builder.Build();
    }

    [Fact]
    public async Task The_chat_client_middleware_records_plain_and_streaming_usage()
    {
        var user = AppFixture.NewUser("meai");
        using var host = BuildClientHost(services => services.AddChatClient(new ScriptedChatClient()).UseLlmCostTracking());
        await host.StartAsync();
        var chat = host.Services.GetRequiredService<IChatClient>();

        using (CostTrackingContext.ForUser(user))
        {
            var response = await chat.GetResponseAsync("How much does this cost?");
            Assert.Equal("plain answer", response.Text);

            var streamed = new List<string>();
            await foreach (var update in chat.GetStreamingResponseAsync("And streaming?"))
            {
                streamed.Add(update.Text);
            }

            Assert.Equal("streamed answer", string.Concat(streamed));
        }

        await host.StopAsync();

        // gpt-4o-mini: 800 × 0.15 + 200 × 0.075 + 500 × 0.60 = 435; claude-3-haiku: 2,000 × 0.25 + 100 × 1.25 = 625.
        var totals = await app.WaitForRequestsAsync(user, 2);
        Assert.Equal(2, totals["requests"]);
        Assert.Equal(1_060, totals["cost"]);
        Assert.Equal(3_000, totals["input"]);
        Assert.Equal(200, totals["cached"]);
        Assert.Equal(600, totals["output"]);

        var response2 = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/{user}"));
        Assert.Equal(HttpStatusCode.OK, response2.StatusCode);
        var detail = await response2.Content.ReadAsStringAsync();
        Assert.Contains("\"model\":\"gpt-4o-mini-2024-07-18\"", detail);
        Assert.Contains("\"model\":\"claude-3-haiku-20240307\"", detail);
    }

    [Fact]
    public async Task Tags_from_configuration_middleware_options_and_ambient_scopes_are_merged_innermost_winning()
    {
        var run = Guid.NewGuid().ToString("N")[..10];
        var user = AppFixture.NewUser("meai-tags");
        using var host = BuildClientHost(services =>
        {
            services.Configure<CostTrackingOptions>(o =>
            {
                o.Tags["environment"] = $"env-{run}";
                o.Tags["team"] = $"cfg-{run}";
            });
            services.AddChatClient(new ScriptedChatClient()).UseLlmCostTracking(o =>
            {
                o.Tags["feature"] = $"mw-{run}";
                o.Tags["team"] = $"mw-{run}";
            });
        });
        await host.StartAsync();
        var chat = host.Services.GetRequiredService<IChatClient>();

        using (CostTrackingContext.ForUser(user))
        using (CostTrackingContext.Tag("team", $"outer-{run}"))
        // Not a configured dimension: left off, the usage still counted.
        using (CostTrackingContext.Tag("customer", "acme"))
        {
            Assert.Equal("plain answer", (await chat.GetResponseAsync("hi")).Text);
            using (CostTrackingContext.Tag("team", $"inner-{run}"))
            {
                await foreach (var _ in chat.GetStreamingResponseAsync("hi"))
                {
                }
            }
        }

        await host.StopAsync();

        // The plain call costs 435 µ$, the streamed one 625 µ$ (as in the first test).
        var totals = await app.WaitForRequestsAsync(user, 2);
        Assert.Equal(1_060, totals["cost"]);
        var outer = await TagTests.WaitForValueAsync(app, "team", $"outer-{run}", requests: 1);
        Assert.Equal(0.000435m, outer.GetProperty("costUsd").GetDecimal());
        var inner = await TagTests.WaitForValueAsync(app, "team", $"inner-{run}", requests: 1);
        Assert.Equal(0.000625m, inner.GetProperty("costUsd").GetDecimal());
        var feature = await TagTests.WaitForValueAsync(app, "feature", $"mw-{run}", requests: 2);
        Assert.Equal(0.00106m, feature.GetProperty("costUsd").GetDecimal());
        var environment = await TagTests.WaitForValueAsync(app, "environment", $"env-{run}", requests: 2);
        Assert.Equal(0.00106m, environment.GetProperty("costUsd").GetDecimal());
        foreach (var overridden in new[] { $"cfg-{run}", $"mw-{run}" })
        {
            using var response = await app.Api.SendAsync(app.Admin(HttpMethod.Get, $"/api/v1/admin/llm-costs/by/team/{overridden}"));
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        }
    }

    [Fact]
    public async Task The_middleware_records_cache_writes_reasoning_and_the_service_tier()
    {
        var user = AppFixture.NewUser("meai-billing");
        var usage = new UsageDetails
        {
            InputTokenCount = 1_000, CachedInputTokenCount = 200, OutputTokenCount = 500, ReasoningTokenCount = 300,
            AdditionalCounts = new() { ["cache_creation_input_tokens"] = 100 },
        };
        using var host = BuildClientHost(services => services.AddChatClient(new BillingChatClient(usage)).UseLlmCostTracking());
        await host.StartAsync();
        using (CostTrackingContext.ForUser(user))
        {
            Assert.Equal("ok", (await host.Services.GetRequiredService<IChatClient>().GetResponseAsync("hi")).Text);
        }

        await host.StopAsync();

        // gpt-5 at flex (half): 700 × 0.625 + 200 × 0.0625 + 100 × 0.625 + 500 × 5 = 3,012.5 → 3,013 micro-dollars.
        var totals = await app.WaitForRequestsAsync(user, 1);
        Assert.Equal(3_013, totals["cost"]);
        Assert.Equal(100, totals["cacheWrite"]);
        Assert.Equal(300, totals["reasoning"]);
    }

    [Fact]
    public async Task The_tracker_retries_sends_that_time_out_and_keeps_sending()
    {
        var user = AppFixture.NewUser("timeout");
        var timeouts = new TimingOutFirst(2);
        // The tracker's own HttpClient (a typed client is named after its interface) times out twice, as
        // HttpClient.Timeout does, before the real API answers.
        using var host = BuildClientHost(services => services.AddHttpClient(nameof(IUsageSink)).AddHttpMessageHandler(() => timeouts));
        await host.StartAsync();
        var tracker = host.Services.GetRequiredService<UsageTracker>();
        Assert.True(tracker.Track(new TrackedUsage(user, "gpt-4o", 10, 10)));
        await app.WaitForRequestsAsync(user, 1);

        // The loop is still sending after the timeouts (an exception let out of it used to end it).
        Assert.True(tracker.Track(new TrackedUsage(user, "gpt-4o", 10, 10)));
        var totals = await app.WaitForRequestsAsync(user, 2);
        await host.StopAsync();
        Assert.Equal(2, totals["requests"]);
        Assert.Equal(2 * 125, totals["cost"]);
        Assert.Equal(2, timeouts.TimedOut);
    }

    /// <summary>Fails the first sends the way HttpClient.Timeout does, then passes requests on.</summary>
    private sealed class TimingOutFirst(int count) : DelegatingHandler
    {
        private int _sends;

        public int TimedOut => Math.Min(Volatile.Read(ref _sends), count);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            Interlocked.Increment(ref _sends) <= count
                ? throw new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout.", new TimeoutException())
                : base.SendAsync(request, cancellationToken);
    }

    [Fact]
    public async Task Graceful_shutdown_drains_the_tracker_buffer()
    {
        var user = AppFixture.NewUser("drain");
        using var host = BuildClientHost();
        var tracker = host.Services.GetRequiredService<UsageTracker>();

        // Buffered before the host starts sending: nothing has left when shutdown begins.
        for (var i = 0; i < 2_500; i++)
        {
            Assert.True(tracker.Track(new TrackedUsage(user, "gpt-4o", 10, 10)));
        }

        Assert.Equal(2_500, tracker.BufferedCount);
        await host.StartAsync();
        await host.StopAsync();
        Assert.Equal(0, tracker.BufferedCount);

        var totals = await app.WaitForRequestsAsync(user, 2_500);
        Assert.Equal(2_500, totals["requests"]);
        Assert.Equal(2_500 * 125, totals["cost"]); // 10 × 2.50 + 10 × 10 = 125 micro-dollars each
    }

    /// <summary>Enforcing, failing closed with a bound no loaded test machine reaches: a slow hold then fails the
    /// test loudly instead of letting the call through (the default 250 ms, failing open, did once in a full run).
    /// The bound itself is tested below.</summary>
    private static void Enforcing(CostTrackingChatOptions options)
    {
        options.EnforceBudget = true;
        options.FailOpen = false;
        options.HoldTimeout = TimeSpan.FromSeconds(30);
    }

    [Fact]
    public async Task Enforcing_the_middleware_holds_before_each_call_settles_with_the_usage_and_refuses_without_calling_the_model()
    {
        var user = AppFixture.NewUser("meai-enforce");
        await app.EnforceBudgetAsync(user, 0.01m);
        var model = new ScriptedChatClient();
        using var host = BuildClientHost(services => services.AddChatClient(model).UseLlmCostTracking(Enforcing));
        await host.StartAsync();
        var chat = host.Services.GetRequiredService<IChatClient>();

        using (CostTrackingContext.ForUser(user))
        {
            // gpt-4o-mini's worst case at the default 4,096 output tokens is about $0.0025: it fits in $0.01.
            Assert.Equal("plain answer", (await chat.GetResponseAsync("How much?", new ChatOptions { ModelId = "gpt-4o-mini" })).Text);
            var streamed = new List<string>();
            await foreach (var update in chat.GetStreamingResponseAsync("And streaming?", new ChatOptions { ModelId = "claude-3-haiku-20240307" }))
            {
                streamed.Add(update.Text);
            }

            Assert.Equal("streamed answer", string.Concat(streamed));
            Assert.Equal(2, model.Calls);

            // 100,000 output tokens of gpt-4o-mini ($0.06) do not fit: refused before the model is called, both ways.
            var large = new ChatOptions { ModelId = "gpt-4o-mini", MaxOutputTokens = 100_000 };
            var refused = await Assert.ThrowsAsync<BudgetExceededException>(() => chat.GetResponseAsync("Too much", large));
            Assert.Equal(user, refused.UserId);
            Assert.NotNull(refused.RemainingUsd);
            await Assert.ThrowsAsync<BudgetExceededException>(async () =>
            {
                await foreach (var _ in chat.GetStreamingResponseAsync("Too much", large))
                {
                }
            });
            Assert.Equal(2, model.Calls);
        }

        await host.StopAsync();

        // Both calls' usage (1,060 µ$, as in the plain test) is counted and their holds settled with it.
        var totals = await app.WaitForRequestsAsync(user, 2);
        Assert.Equal(1_060, totals["cost"]);
        await Eventually.ReturnsAsync(() => app.HeldMicrosAsync(user), held => held == 0, because: "both holds to be settled");
    }

    [Fact]
    public async Task A_failed_call_releases_its_hold()
    {
        var user = AppFixture.NewUser("meai-release");
        await app.EnforceBudgetAsync(user, 1m);
        using var host = BuildClientHost(services => services.AddChatClient(new FailingChatClient()).UseLlmCostTracking(Enforcing));
        await host.StartAsync();
        var chat = host.Services.GetRequiredService<IChatClient>();

        using (CostTrackingContext.ForUser(user))
        {
            await Assert.ThrowsAsync<HttpRequestException>(() => chat.GetResponseAsync("hi", new ChatOptions { ModelId = "gpt-4o" }));
            await Assert.ThrowsAsync<HttpRequestException>(async () =>
            {
                await foreach (var _ in chat.GetStreamingResponseAsync("hi", new ChatOptions { ModelId = "gpt-4o" }))
                {
                }
            });
        }

        await host.StopAsync();
        // Each call held $0.04096 (4,096 output tokens of gpt-4o) and released it when the model failed.
        Assert.True(await app.Redis.GetDatabase().KeyExistsAsync(app.Keys.UserHoldData(user)));
        Assert.Equal(0, await app.HeldMicrosAsync(user));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_tracker_API_that_does_not_answer_in_time_fails_open_or_closed_as_configured(bool failOpen)
    {
        // A port that accepts connections and never answers.
        using var silent = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        silent.Start(backlog: 16);
        var endpoint = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}/");
        var model = new ScriptedChatClient();
        using var host = BuildClientHost(
            services => services.AddChatClient(model).UseLlmCostTracking(o =>
            {
                o.EnforceBudget = true;
                o.FailOpen = failOpen;
                o.HoldTimeout = TimeSpan.FromMilliseconds(100);
            }),
            endpoint);
        var chat = host.Services.GetRequiredService<IChatClient>();

        using (CostTrackingContext.ForUser(AppFixture.NewUser("meai-silent")))
        {
            if (failOpen)
            {
                Assert.Equal("plain answer", (await chat.GetResponseAsync("hi")).Text);
                Assert.Equal(1, model.Calls);
            }
            else
            {
                await Assert.ThrowsAsync<BudgetHoldUnavailableException>(() => chat.GetResponseAsync("hi"));
                Assert.Equal(0, model.Calls);
            }
        }
    }

    [Fact]
    public void Track_never_throws_and_refuses_what_the_API_would_refuse()
    {
        using var host = BuildClientHost();
        var tracker = host.Services.GetRequiredService<UsageTracker>();
        Assert.False(tracker.Track(new TrackedUsage("bad user", "gpt-4o", 1, 1)));
        Assert.False(tracker.Track(new TrackedUsage("u", "gpt-4o", 1, 1, CachedInputTokens: 2)));
        Assert.False(tracker.Track(null!));
        Assert.Equal(0, tracker.BufferedCount);
    }

    /// <summary>A stand-in OpenAI model answering with the given usage, billed at the flex tier.</summary>
    private sealed class BillingChatClient(UsageDetails usage) : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok"))
            {
                ModelId = "gpt-5-2025-08-07",
                ResponseId = $"resp_{Guid.NewGuid():N}",
                Usage = usage,
                AdditionalProperties = new() { ["service_tier"] = "flex" },
            });

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(ChatClientMetadata) ? new ChatClientMetadata("openai", null, "gpt-5") : null;

        public void Dispose()
        {
        }
    }

    /// <summary>A model that is down: every call fails after it started.</summary>
    private sealed class FailingChatClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            throw new HttpRequestException("model unavailable");

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "partial");
            throw new HttpRequestException("model unavailable mid-stream");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    /// <summary>A stand-in model: fixed answers with provider-style usage, the streamed one ending with a usage update.
    /// <see cref="Calls"/> counts the calls that reached it.</summary>
    private sealed class ScriptedChatClient : IChatClient
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "plain answer"))
            {
                ModelId = "gpt-4o-mini-2024-07-18",
                ResponseId = $"chatcmpl-{Guid.NewGuid():N}",
                Usage = new UsageDetails { InputTokenCount = 1000, CachedInputTokenCount = 200, OutputTokenCount = 500 },
            });
        }

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
            IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _calls);
            var id = $"msg_{Guid.NewGuid():N}";
            foreach (var text in new[] { "streamed ", "answer" })
            {
                await Task.Yield();
                yield return new ChatResponseUpdate(ChatRole.Assistant, text) { ModelId = "claude-3-haiku-20240307", ResponseId = id };
            }

            yield return new ChatResponseUpdate
            {
                ResponseId = id,
                Contents = [new UsageContent(new UsageDetails { InputTokenCount = 2000, OutputTokenCount = 100 })],
            };
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
