using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace LlmCostTracker.Tests.Integration;

/// <summary>Budget alerts delivered to webhooks by the running worker: a real HTTP receiver in the test process,
/// signatures checked with the Standard Webhooks scheme, retries, dead letters and their replay.</summary>
[Collection(AppCollection.Name)]
public sealed class AlertWebhookTests(AppFixture app)
{
    /// <summary>Shutdown:Timeout (5 s) plus 2 s for the orchestrator, as for a stop after the broker's return.</summary>
    private static readonly TimeSpan StopBound = TimeSpan.FromSeconds(7);

    private WebhookReceiver Receiver => app.Webhooks!;

    /// <summary>$10 of gpt-4o output: past 80% and 100% of the default $6 budget at once.</summary>
    private async Task SpendTenDollarsAsync(string user)
    {
        using var posted = await app.PostUsageAsync(new { userId = user, model = "gpt-4o", inputTokens = 0, outputTokens = 1_000_000 });
        Assert.Equal(System.Net.HttpStatusCode.Accepted, posted.StatusCode);
    }

    private Task<IReadOnlyList<WebhookReceiver.Attempt>> DeliveredAsync(string path, string user, int count) =>
        Eventually.ReturnsAsync(
            () => Task.FromResult(Receiver.For(path, $"\"{user}\"").Concat(Receiver.For(path, $"*{user}*")).Where(a => a.Status == 200).ToList() as IReadOnlyList<WebhookReceiver.Attempt>),
            delivered => delivered.Count >= count,
            because: $"{count} alerts for {user} delivered to {path}");

    [Fact]
    public async Task Each_threshold_crossed_is_delivered_signed_to_the_json_endpoint_and_as_a_Slack_message()
    {
        var user = AppFixture.NewUser("hook");
        await SpendTenDollarsAsync(user);

        var json = await DeliveredAsync("/json", user, 2);
        var secret = await app.ParameterValueAsync("alert-webhook-secret", CancellationToken.None);
        var key = Convert.FromBase64String(secret);
        var thresholds = new List<int>();
        foreach (var delivery in json)
        {
            // Standard Webhooks: v1,base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), the key the base64 after whsec_.
            var expected = "v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{delivery.WebhookId}.{delivery.Timestamp}.{delivery.Body}")));
            Assert.Equal(expected, delivery.Signature);
            Assert.StartsWith("msg_", delivery.WebhookId, StringComparison.Ordinal);
            Assert.InRange(long.Parse(delivery.Timestamp!, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-5).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);

            using var body = JsonDocument.Parse(delivery.Body);
            var root = body.RootElement;
            Assert.Equal("budget.threshold_crossed", root.GetProperty("type").GetString());
            Assert.Equal(delivery.WebhookId, root.GetProperty("id").GetString());
            Assert.Equal(AppFixture.CurrentMonth, root.GetProperty("month").GetString());
            Assert.Equal("user", root.GetProperty("subject").GetProperty("kind").GetString());
            Assert.Equal(user, root.GetProperty("subject").GetProperty("userId").GetString());
            Assert.Equal(10m, root.GetProperty("spentUsd").GetDecimal());
            Assert.Equal(6m, root.GetProperty("budgetUsd").GetDecimal());
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", root.GetProperty("traceParent").GetString());
            thresholds.Add(root.GetProperty("thresholdPercent").GetInt32());
        }

        Assert.Equal([80, 100], thresholds.Order());
        // Once each: no alert was delivered twice.
        Assert.Equal(2, json.Select(d => d.WebhookId).Distinct().Count());

        // The Slack endpoint: the same alerts (the same webhook ids) as incoming-webhook messages, unsigned.
        var slack = await DeliveredAsync("/slack", user, 2);
        Assert.Equal(json.Select(d => d.WebhookId).Order(), slack.Select(d => d.WebhookId).Order());
        Assert.All(slack, d => Assert.Null(d.Signature));
        var texts = slack.Select(d => JsonDocument.Parse(d.Body).RootElement.GetProperty("text").GetString()).Order().ToList();
        Assert.Equal(
            [
                $":rotating_light: LLM cost: User *{user}* reached 100% of the $6.00 budget for {AppFixture.CurrentMonth} ($10.00 spent).",
                $":warning: LLM cost: User *{user}* reached 80% of the $6.00 budget for {AppFixture.CurrentMonth} ($10.00 spent).",
            ],
            texts);
    }

    [Fact]
    public async Task An_endpoint_that_fails_twice_gets_each_alert_once_with_the_same_webhook_id_on_every_attempt()
    {
        var user = AppFixture.NewUser("hook-retry");
        Receiver.FailTimes[user] = 2;
        await SpendTenDollarsAsync(user);

        var delivered = await DeliveredAsync("/json", user, 2);
        Assert.Equal(2, delivered.Count);
        foreach (var id in delivered.Select(d => d.WebhookId))
        {
            var attempts = Receiver.For("/json", user).Where(a => a.WebhookId == id).ToList();
            Assert.Equal([500, 500, 200], attempts.Select(a => a.Status));
        }
    }

    [Fact]
    public async Task A_receiver_down_for_30_seconds_gets_every_alert_once_after_it_returns()
    {
        var user = AppFixture.NewUser("hook-down");
        Receiver.Down = true;
        var down = System.Diagnostics.Stopwatch.StartNew();
        try
        {
            await SpendTenDollarsAsync(user);
            // Both alerts' deliveries are being refused with 503 and retried while the receiver is down.
            await Eventually.ReturnsAsync(
                () => Task.FromResult(Receiver.For("/json", user).Select(a => a.WebhookId).Distinct().Count()), ids => ids == 2,
                because: "both alerts to reach the receiver while it is down");
            // The outage itself, not a wait for something: the receiver stays down for 30 s in all.
            await Task.Delay(TimeSpan.FromSeconds(30) - down.Elapsed);
        }
        finally
        {
            Receiver.Down = false;
        }

        var delivered = await DeliveredAsync("/json", user, 2);
        Assert.Equal(2, delivered.Count);
        foreach (var id in delivered.Select(d => d.WebhookId))
        {
            // Retried through the outage (the last attempts about 1 s apart), then delivered once, with one webhook-id.
            var attempts = Receiver.For("/json", user).Where(a => a.WebhookId == id).Select(a => a.Status).ToList();
            Assert.True(attempts.Count > 10, $"{attempts.Count} attempts");
            Assert.Equal([.. Enumerable.Repeat(503, attempts.Count - 1), 200], attempts);
        }

        Assert.Equal(2, (await DeliveredAsync("/slack", user, 2)).Count);
    }

    [Fact]
    public async Task An_endpoint_that_never_answers_does_not_hold_the_workers_stop_and_its_alerts_arrive_after_the_restart()
    {
        var user = AppFixture.NewUser("hook-hung");
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Receiver.Hold[user] = hold;
        IReadOnlyList<WebhookReceiver.Attempt> held;
        try
        {
            await SpendTenDollarsAsync(user);
            // Both alerts' first attempts are in flight to /json and to /slack, unanswered.
            held = await Eventually.ReturnsAsync(
                () => Task.FromResult<IReadOnlyList<WebhookReceiver.Attempt>>([.. Receiver.Held.Where(a => a.Body.Contains(user, StringComparison.Ordinal))]),
                attempts => attempts.Count(a => a.Path == "/json") >= 2 && attempts.Count(a => a.Path == "/slack") >= 2,
                because: "both alerts' deliveries to reach the endpoint that does not answer");

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await app.StopResourceAsync("workerservice");
            Assert.True(clock.Elapsed <= StopBound, $"the worker's stop took {clock.Elapsed} with four deliveries waiting for an answer");
        }
        finally
        {
            Assert.True(Receiver.Hold.TryRemove(user, out _));
            hold.SetResult();
            await app.StartResourceAsync("workerservice");
        }

        // The stop cancelled the deliveries unacknowledged: the broker gives them to the restarted worker, and each
        // alert arrives, once, with the webhook-id of its first attempt.
        var json = await DeliveredAsync("/json", user, 2);
        Assert.Equal(held.Where(a => a.Path == "/json").Select(a => a.WebhookId).Distinct().Order(), json.Select(a => a.WebhookId).Order());
        var slack = await DeliveredAsync("/slack", user, 2);
        Assert.Equal(json.Select(a => a.WebhookId).Order(), slack.Select(a => a.WebhookId).Order());
    }

    [Fact]
    public async Task A_refused_delivery_is_dead_lettered_and_the_replay_command_delivers_it()
    {
        var user = AppFixture.NewUser("hook-dead");
        Receiver.Refuse[user] = true;
        await SpendTenDollarsAsync(user);

        // Refused (410) once each, not retried.
        await Eventually.ReturnsAsync(
            () => Task.FromResult(Receiver.For("/json", user).Count(a => a.Status == 410)), count => count >= 2,
            because: "both alerts refused by the endpoint");

        // The endpoint is back: the replay command sends what waits in llm-alert-webhooks_error. A delivery reaches
        // the error queue just after its refusal, so the command is run again until both arrived (each keeps its id).
        Assert.True(Receiver.Refuse.TryRemove(user, out _));
        var delivered = await Eventually.ReturnsAsync(
            async () =>
            {
                var replay = await app.App.ResourceCommands.ExecuteCommandAsync("workerservice", "replay-failed-webhooks");
                Assert.True(replay.Success, replay.Message);
                return Receiver.For("/json", user).Where(a => a.Status == 200).ToList();
            },
            ok => ok.Count >= 2,
            because: "the replayed deliveries to arrive");
        var refusedIds = Receiver.For("/json", user).Where(a => a.Status == 410).Select(a => a.WebhookId).Order();
        Assert.Equal(refusedIds, delivered.Select(a => a.WebhookId).Order());
    }

    [Fact]
    public async Task The_admin_test_sends_one_signed_sample_to_one_endpoint_and_shows_its_answer()
    {
        using var sent = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/alerts/webhooks/0/test"));
        Assert.Equal(System.Net.HttpStatusCode.OK, sent.StatusCode);
        using var result = JsonDocument.Parse(await sent.Content.ReadAsStringAsync());
        var root = result.RootElement;
        Assert.True(root.GetProperty("delivered").GetBoolean());
        Assert.Equal("delivered", root.GetProperty("outcome").GetString());
        Assert.Equal(200, root.GetProperty("statusCode").GetInt32());
        Assert.Equal($"{Receiver.Endpoint.Scheme}://{Receiver.Endpoint.Authority}/…", root.GetProperty("webhook").GetProperty("target").GetString());
        var id = root.GetProperty("webhookId").GetString()!;
        Assert.StartsWith("msg_test_", id, StringComparison.Ordinal);

        // The receiver got exactly that body, once, signed with the endpoint's secret as real deliveries are.
        var attempt = Assert.Single(Receiver.Attempts, a => a.WebhookId == id);
        Assert.Equal("/json", attempt.Path);
        Assert.Equal(root.GetProperty("body").GetString(), attempt.Body);
        var key = Convert.FromBase64String(await app.ParameterValueAsync("alert-webhook-secret", CancellationToken.None));
        Assert.Equal("v1," + Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{attempt.Timestamp}.{attempt.Body}"))), attempt.Signature);
        using var body = JsonDocument.Parse(attempt.Body);
        Assert.True(body.RootElement.GetProperty("test").GetBoolean());
        Assert.Equal("budget.threshold_crossed", body.RootElement.GetProperty("type").GetString());
        Assert.Equal("webhook-test", body.RootElement.GetProperty("subject").GetProperty("userId").GetString());

        // The Slack endpoint gets the message form, marked as a test; a tag alert can be imitated too.
        using var slack = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/alerts/webhooks/1/test?type=tag_budget.threshold_crossed"));
        Assert.Equal(System.Net.HttpStatusCode.OK, slack.StatusCode);
        var slackId = JsonDocument.Parse(await slack.Content.ReadAsStringAsync()).RootElement.GetProperty("webhookId").GetString();
        var message = Assert.Single(Receiver.Attempts, a => a.WebhookId == slackId);
        Assert.Equal("/slack", message.Path);
        Assert.StartsWith("[test] :warning: LLM cost: *team=webhook-test* reached 80%",
            JsonDocument.Parse(message.Body).RootElement.GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_admin_test_shows_a_refusal_and_refuses_an_unknown_endpoint_or_type()
    {
        Receiver.Refuse["webhook-test"] = true;
        try
        {
            using var refused = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/alerts/webhooks/0/test"));
            Assert.Equal(System.Net.HttpStatusCode.OK, refused.StatusCode);
            var root = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
            Assert.False(root.GetProperty("delivered").GetBoolean());
            Assert.Equal("refused", root.GetProperty("outcome").GetString());
            Assert.Equal(410, root.GetProperty("statusCode").GetInt32());
        }
        finally
        {
            Assert.True(Receiver.Refuse.TryRemove("webhook-test", out _));
        }

        using var unknown = await app.Api.SendAsync(app.Admin(HttpMethod.Post, "/api/v1/admin/alerts/webhooks/7/test"));
        Assert.Equal(System.Net.HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("application/problem+json", unknown.Content.Headers.ContentType?.MediaType);
        foreach (var (path, field) in new[] { ("x/test", "endpoint"), ("0/test?type=budget.nope", "type") })
        {
            using var invalid = await app.Api.SendAsync(app.Admin(HttpMethod.Post, $"/api/v1/admin/alerts/webhooks/{path}"));
            Assert.Equal(System.Net.HttpStatusCode.BadRequest, invalid.StatusCode);
            Assert.True(JsonDocument.Parse(await invalid.Content.ReadAsStringAsync()).RootElement.GetProperty("errors").TryGetProperty(field, out _), path);
        }

        using var list = await app.Api.SendAsync(app.Admin(HttpMethod.Get, "/api/v1/admin/alerts/webhooks"));
        Assert.Equal(System.Net.HttpStatusCode.OK, list.StatusCode);
        var webhooks = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement.EnumerateArray().ToList();
        Assert.Equal([("json", true), ("slack", false)], webhooks.Select(w => (w.GetProperty("format").GetString(), w.GetProperty("signed").GetBoolean())));
    }
}
