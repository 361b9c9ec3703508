using System.Text.Json.Nodes;
using Scalar.AspNetCore;

namespace LlmCostTracker.ApiService.Extensions;

public static class OpenApiExtensions
{
    /// <summary>Request examples by operation id, shown in the document and on the Scalar page.</summary>
    private static readonly Dictionary<string, string> RequestExamples = new()
    {
        ["RecordUsage"] = """{"eventId":"chatcmpl-8abc123","userId":"alice@example.com","model":"gpt-4o-2024-08-06","inputTokens":1200,"cachedInputTokens":200,"outputTokens":350,"occurredAt":"2026-11-27T10:15:00Z","tags":{"team":"search","feature":"summarize","environment":"prod"}}""",
        ["RecordUsageBatch"] = """{"events":[{"userId":"alice@example.com","model":"gpt-4o-mini","inputTokens":900,"outputTokens":120,"tags":{"team":"search"}},{"eventId":"msg_01XyZ","userId":"bob","model":"claude-3-haiku-20240307","inputTokens":2000,"outputTokens":100}]}""",
        ["SetBudget"] = """{"monthlyBudgetUsd":25.00,"enforce":true}""",
        ["SetTagBudget"] = """{"monthlyBudgetUsd":500.00}""",
        ["CreateBudgetHold"] = """{"holdId":"call-0193a7c2","userId":"alice@example.com","model":"gpt-4o","inputTokens":1200,"maxOutputTokens":1000,"ttlSeconds":600}""",
    };

    public static void AddApiDocumentation(this IHostApplicationBuilder builder) =>
        builder.Services.AddOpenApi(options => options.AddOperationTransformer((operation, context, ct) =>
        {
            if (operation.OperationId is { } id
                && RequestExamples.TryGetValue(id, out var example)
                && operation.RequestBody?.Content is { } content
                && content.TryGetValue("application/json", out var media))
            {
                media.Example = JsonNode.Parse(example);
            }

            return Task.CompletedTask;
        }));

    /// <summary>The OpenAPI document at <c>/openapi/v1.json</c> and the Scalar page at <c>/scalar</c>, in Development.</summary>
    public static WebApplication MapApiDocumentation(this WebApplication app)
    {
        if (app.Environment.IsDevelopment())
        {
            app.MapOpenApi();
            app.MapScalarApiReference();
        }

        return app;
    }
}
