using Scalar.AspNetCore;

namespace LlmCostTracker.ApiService.Extensions;

public static class OpenApiExtensions
{
    public static void AddApiDocumentation(this IHostApplicationBuilder builder) => builder.Services.AddOpenApi();

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
