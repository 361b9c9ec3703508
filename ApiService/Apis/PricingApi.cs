using System.Globalization;
using LlmCostTracker.ApiService.Ingestion;
using LlmCostTracker.ApiService.Pricing;
using LlmCostTracker.ApiService.Security;
using LlmCostTracker.Contracts;
using LlmCostTracker.Pricing;
using LlmCostTracker.Ledger.Pricing;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LlmCostTracker.ApiService.Apis;

public static class PricingApi
{
    public const long MaxOverrideBodyBytes = 16 * 1024;

    public static IEndpointRouteBuilder MapPricingApi(this IEndpointRouteBuilder app)
    {
        var pricing = app.MapGroup("/api/v1/admin/pricing")
            .WithTags("Pricing")
            .RequireAuthorization(ApiKeyDefaults.AdminPolicy)
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        pricing.MapGet("/", GetPricing)
            .WithName("GetPricing")
            .WithSummary("The price catalog in force: every entry with its source (catalog, configuration or override), and the overrides version each worker prices with");

        pricing.MapGet("/resolve", Resolve)
            .WithName("ResolvePrice")
            .WithSummary("Which entry and prices an event would get, and why (exact, alias, prefix, cloud, snapshot, deployment or fallback)");

        pricing.MapPut("/models/{modelId}", SetOverride)
            .WithName("SetPriceOverride")
            .WithSummary("Add a custom model or override a model's prices from effectiveFrom (default now) on")
            .WithDescription("Stored in Redis; every worker applies it to the events it prices from then on, within Pricing:RefreshInterval. Events that occurred before effectiveFrom keep their price.")
            .AcceptsJson<PriceOverrideRequest>(MaxOverrideBodyBytes);

        pricing.MapDelete("/models/{modelId}", DeleteOverride)
            .WithName("DeletePriceOverride")
            .WithSummary("Remove a model's overrides (its catalog or configured price applies again)")
            .ProducesProblem(StatusCodes.Status404NotFound);

        pricing.MapGet("/catalog", GetCatalog)
            .WithName("GetPriceCatalog")
            .WithSummary("The catalog version in force, in the project's format (what PUT takes back)");

        pricing.MapPut("/catalog", PutCatalog)
            .WithName("PutPriceCatalog")
            .WithSummary("Store a newer catalog and put it in force on every worker (within Pricing:RefreshInterval)")
            .WithDescription("The body is a catalog in this project's format, genai-prices' data.json or LiteLLM's model_prices_and_context_window.json (converted as eng/PriceCatalogTool converts them, with the shipped overlay). It is validated whole: one bad entry is a 400 naming it, and nothing is stored. The same content as the version in force stores nothing (200); a new version answers 201. ?source= labels the version.")
            .Accepts<PriceCatalog>("application/json")
            .Produces<CatalogVersion>(StatusCodes.Status201Created)
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        pricing.MapGet("/catalog/versions", GetCatalogVersions)
            .WithName("GetPriceCatalogVersions")
            .WithSummary("Every stored catalog version (0: the one shipped in the build), the one in force, and the scheduled pull's state");

        pricing.MapPost("/catalog/versions/{version}/activate", ActivateCatalogVersion)
            .WithName("ActivatePriceCatalogVersion")
            .WithSummary("Put a stored version in force again (a rollback, or 0 for the shipped catalog); events are priced with it from then on")
            .ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status404NotFound);

        pricing.MapGet("/unknown-models", GetUnknownModels)
            .WithName("GetUnknownModels")
            .WithSummary("Model ids priced at the fallback in a month, with request counts and the cost charged");

        return app;
    }

    public static async Task<Ok<PricingView>> GetPricing(PriceAdmin admin, CatalogStore catalogs)
    {
        var book = await admin.BookAsync();
        var (version, catalog) = await catalogs.CurrentAsync();
        return TypedResults.Ok(new PricingView(catalog.AsOf, await admin.VersionAsync(), book.Fallback, catalog.ProviderTiers,
            [.. book.Entries.OrderBy(e => e.Provider, StringComparer.Ordinal).ThenBy(e => e.Id, StringComparer.Ordinal).ThenBy(e => e.EffectiveFrom)],
            await admin.WorkersAsync(), version));
    }

    public static async Task<Ok<PriceCatalog>> GetCatalog(CatalogStore catalogs) => TypedResults.Ok((await catalogs.CurrentAsync()).Catalog);

    public static async Task<Results<Created<CatalogVersion>, Ok<CatalogVersion>, ValidationProblem, ProblemHttpResult>> PutCatalog(
        HttpRequest request, string? source, CatalogImport import, IOptions<PricingOptions> options, CancellationToken ct)
    {
        if (!request.HasJsonContentType())
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status415UnsupportedMediaType, title: "Unsupported media type", detail: "Send the catalog as application/json.");
        }

        if (source is not null && (source.Length > 200 || source.Any(char.IsControl)))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["source"] = ["source is a label of at most 200 printable characters."] });
        }

        var max = options.Value.MaxCatalogBytes;
        if (request.ContentLength > max)
        {
            return TooLarge(max);
        }

        // The endpoint's own bound, not Kestrel's 30 MB default: a catalog is read whole before it is validated.
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
        {
            limit.MaxRequestBodySize = max + 1;
        }
        using var buffer = new MemoryStream();
        try
        {
            await request.Body.CopyToAsync(buffer, ct);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return TooLarge(max);
        }

        if (buffer.Length > max)
        {
            return TooLarge(max);
        }

        var result = await import.ImportAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), source ?? "upload");
        if (result.Version is null)
        {
            return TypedResults.ValidationProblem(result.Errors, title: "The catalog was refused; nothing was stored.");
        }

        return result.Stored
            ? TypedResults.Created($"/api/v1/admin/pricing/catalog/versions/{result.Version.Version}", result.Version)
            : TypedResults.Ok(result.Version);
    }

    public static async Task<Ok<CatalogVersionsView>> GetCatalogVersions(CatalogStore catalogs, CatalogPull pull) =>
        TypedResults.Ok(new CatalogVersionsView(await catalogs.CurrentVersionAsync(), await catalogs.VersionsAsync(), pull.Status));

    public static async Task<Results<Ok<CatalogVersion>, ProblemHttpResult>> ActivateCatalogVersion(long version, CatalogStore catalogs)
    {
        var known = (await catalogs.VersionsAsync()).FirstOrDefault(v => v.Version == version);
        return known is not null && await catalogs.ActivateAsync(version)
            ? TypedResults.Ok(known)
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No such catalog version", detail: $"There is no stored catalog version {version}.");
    }

    private static ProblemHttpResult TooLarge(long max) => TypedResults.Problem(
        statusCode: StatusCodes.Status413PayloadTooLarge, title: "Payload too large", detail: $"A catalog is at most Pricing:MaxCatalogBytes ({max:N0} bytes).");

    public static async Task<Results<Ok<PriceResolution>, ValidationProblem>> Resolve(
        string? model, string? provider, string? serviceTier, string? inputTokens, DateTimeOffset? occurredAt, PriceAdmin admin, TimeProvider clock)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(model) || model.Length > UsageValidator.MaxModelLength || model.Any(char.IsControl))
        {
            errors["model"] = [$"model is required: 1 to {UsageValidator.MaxModelLength} printable characters."];
        }

        if (provider is not null && !UsageValidator.IsProviderName(provider))
        {
            errors["provider"] = ["provider must be a gen_ai.provider.name (lowercase letters, digits and ._-)."];
        }

        var tier = serviceTier is null ? ServiceTiers.Standard : ServiceTiers.Normalize(serviceTier);
        if (tier is null)
        {
            errors["serviceTier"] = [$"serviceTier must be one of {string.Join(", ", ServiceTiers.All)}."];
        }

        long tokens = 0;
        if (inputTokens is not null && (!long.TryParse(inputTokens, NumberStyles.None, CultureInfo.InvariantCulture, out tokens) || tokens > UsageValidator.MaxTokens))
        {
            errors["inputTokens"] = ["inputTokens must be an integer from 0 to 100,000,000."];
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        var quote = (await admin.BookAsync()).Quote(model!, provider, tier, tokens, occurredAt ?? clock.GetUtcNow());
        return TypedResults.Ok(new PriceResolution(model!, quote.Match, quote.Entry?.Provider, quote.Entry?.Id, quote.Entry?.EffectiveFrom,
            quote.Entry?.Source, quote.Tier, quote.TierUnpriced, quote.LongContext, quote.Rates));
    }

    public static async Task<Results<Ok<PriceEntry>, ValidationProblem, ProblemHttpResult>> SetOverride(
        string modelId, HttpRequest request, PriceAdmin admin, TimeProvider clock, CancellationToken ct)
    {
        var (body, problem) = await JsonBody.ReadAsync(request, PricingJsonContext.Default.PriceOverrideRequest, ct);
        switch (problem)
        {
            case ValidationProblem validation:
                return validation;
            case ProblemHttpResult other:
                return other;
        }

        var book = await admin.BookAsync();
        var entry = new PriceEntry
        {
            Id = modelId,
            // A model the book knows keeps its provider unless told otherwise; a new one is custom.
            Provider = body!.Provider ?? (book.Resolve(modelId).History is { } known && known[0].Id.Equals(modelId, StringComparison.OrdinalIgnoreCase)
                ? known[0].Provider
                : PricingOptions.CustomProvider),
            EffectiveFrom = body.EffectiveFrom ?? clock.GetUtcNow(),
            Aliases = body.Aliases ?? [],
            Input = body.Input,
            CachedInput = body.CachedInput,
            CacheWrite = body.CacheWrite,
            Output = body.Output,
            Reasoning = body.Reasoning,
            LongContext = body.LongContext,
            Tiers = body.Tiers ?? [],
            Source = PriceSources.Override,
        };
        var errors = new Dictionary<string, string[]>();
        PriceValidation.Check(entry, "", errors);
        if (errors.Remove("id", out var idErrors))
        {
            errors["modelId"] = idErrors;
        }

        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(errors);
        }

        await admin.SetAsync(entry);
        return TypedResults.Ok(entry);
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> DeleteOverride(string modelId, PriceAdmin admin)
    {
        if (modelId.Length > PriceValidation.MaxIdLength || modelId.Any(c => char.IsControl(c) || char.IsWhiteSpace(c)))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["modelId"] = [$"modelId must be 1 to {PriceValidation.MaxIdLength} printable characters without spaces."] });
        }

        return await admin.DeleteAsync(modelId)
            ? TypedResults.NoContent()
            : TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "No override", detail: $"'{modelId}' has no price override.");
    }

    public static async Task<Results<Ok<UnknownModelsReport>, ValidationProblem>> GetUnknownModels(string? month, PriceAdmin admin, TimeProvider clock)
    {
        var errors = new Dictionary<string, string[]>();
        var reportMonth = AdminParameters.ParseMonth(month, clock, errors);
        return errors.Count > 0 ? TypedResults.ValidationProblem(errors) : TypedResults.Ok(await admin.UnknownModelsAsync(reportMonth));
    }
}
