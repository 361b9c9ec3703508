using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using LlmCostTracker.Contracts;
using StackExchange.Redis;

namespace LlmCostTracker.Tests.Integration;

/// <summary>A request from <c>Data/hostile-requests.json</c>: something a careless or hostile client could send.</summary>
public sealed record HostileRequest(string Name, string Method, string Path, string Key, string? ContentType, int Status, string? Body, string? Generate)
{
    public override string ToString() => Name;
}

[Collection(AppCollection.Name)]
public sealed class HostileInputTests(AppFixture app)
{
    private static readonly string CorpusPath = Path.Combine(AppContext.BaseDirectory, "Data", "hostile-requests.json");

    public static TheoryData<HostileRequest> Corpus()
    {
        var data = new TheoryData<HostileRequest>();
        foreach (var request in JsonSerializer.Deserialize<HostileRequest[]>(File.ReadAllText(CorpusPath), JsonSerializerOptions.Web)!)
        {
            data.Add(request);
        }

        return data;
    }

    [Fact]
    public void The_corpus_holds_at_least_40_bad_requests() =>
        Assert.True(Corpus().Count >= 40);

    [Theory]
    [MemberData(nameof(Corpus))]
    public async Task Each_bad_request_gets_a_4xx_problem_and_changes_nothing(HostileRequest hostile)
    {
        using var request = new HttpRequestMessage(new HttpMethod(hostile.Method), hostile.Path);
        var body = hostile.Generate is null ? hostile.Body : Generate(hostile.Generate);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            // As curl does for large bodies: the server can refuse an oversize body before it is sent.
            request.Headers.ExpectContinue = body.Length > 1024 * 1024;
            if (hostile.ContentType is not null)
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(hostile.ContentType);
            }
        }

        AddKey(request, hostile);
        using var response = await app.Api.SendAsync(request);

        Assert.Equal(hostile.Status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);

        // Nothing from a rejected request is stored: no hostile user has totals, no budget was set.
        var db = app.Redis.GetDatabase();
        foreach (var user in new[] { "hostile-user", "hostile-a", "hostile-good-1", "hostile-good-2", "hostile-good-3" })
        {
            Assert.False(await db.KeyExistsAsync(app.Keys.UserMonth(user, AppFixture.CurrentMonth)), user);
        }

        Assert.False(await db.KeyExistsAsync(app.Keys.UserBudget("hostile-b")));
        for (var bucket = 0; bucket < app.Keys.Buckets; bucket++)
        {
            await foreach (var member in db.SortedSetScanAsync(app.Keys.MonthUsers(bucket, AppFixture.CurrentMonth), "hostile*"))
            {
                Assert.Fail($"{member.Element} was counted");
            }
        }
    }

    private void AddKey(HttpRequestMessage request, HostileRequest hostile)
    {
        var admin = hostile.Path.StartsWith("/api/v1/admin", StringComparison.Ordinal);
        var header = admin ? "X-Admin-Key" : "X-Api-Key";
        switch (hostile.Key)
        {
            case "ingest":
                request.Headers.Add("X-Api-Key", app.IngestApiKey);
                break;
            case "admin":
                request.Headers.Add(header, app.AdminApiKey);
                break;
            case "wrong":
                request.Headers.Add(header, "definitely-not-the-key");
                break;
            case "empty":
                request.Headers.TryAddWithoutValidation(header, "");
                break;
            case "ingest-as-admin":
                request.Headers.Add("X-Admin-Key", app.IngestApiKey);
                break;
            case "empty-bearer":
                request.Headers.TryAddWithoutValidation("Authorization", "Bearer ");
                break;
            case "basic":
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{app.AdminApiKey}")));
                break;
        }
    }

    private static string Generate(string kind) => kind switch
    {
        "deep-nesting" => $"{{\"userId\":\"hostile-a\",\"model\":{new string('[', 5_000)}{new string(']', 5_000)}}}",
        "10mb-event" => $"{{\"userId\":\"hostile-a\",\"model\":\"{new string('m', 10 * 1024 * 1024)}\",\"inputTokens\":1,\"outputTokens\":1}}",
        "10mb-batch" => $"{{\"events\":[{string.Join(',', Enumerable.Repeat($"{{\"userId\":\"hostile-a\",\"model\":\"{new string('m', 1024)}\",\"inputTokens\":1,\"outputTokens\":1}}", 10_000))}]}}",
        "10mb-budget" => $"{{\"monthlyBudgetUsd\":1{new string('0', 10 * 1024 * 1024)}}}",
        "batch-1001" => JsonSerializer.Serialize(new
        {
            events = Enumerable.Range(0, 1001).Select(i => new { userId = "hostile-user", model = "gpt-4o", inputTokens = 1, outputTokens = 1 }),
        }),
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown generator"),
    };
}
