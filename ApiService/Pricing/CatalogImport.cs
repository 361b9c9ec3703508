using System.Text.Json;
using LlmCostTracker.Pricing;
using LlmCostTracker.Pricing.Sources;
using LlmCostTracker.Ledger.Pricing;

namespace LlmCostTracker.ApiService.Pricing;

/// <summary>A newer catalog, from <c>PUT /api/v1/admin/pricing/catalog</c> or the scheduled pull: in the project's
/// format, or genai-prices' or LiteLLM's (converted by <see cref="CatalogBuilder"/> with the shipped overlay, as
/// <c>eng/PriceCatalogTool</c> converts them), validated whole, then stored as a new version. Nothing is stored from
/// a list with any bad entry.</summary>
public sealed class CatalogImport(CatalogStore store, TimeProvider clock)
{
    public sealed record Result(CatalogVersion? Version, bool Stored, Dictionary<string, string[]> Errors);

    public async Task<Result> ImportAsync(ReadOnlyMemory<byte> body, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            return Invalid("body", $"Malformed JSON (line {ex.LineNumber + 1}): {ex.Message}");
        }

        using (document)
        {
            string format;
            PriceCatalog catalog;
            try
            {
                format = CatalogBuilder.FormatOf(document.RootElement);
                var today = DateOnly.FromDateTime(clock.GetUtcNow().UtcDateTime);
                var listed = new CatalogSource { Name = format, Date = today };
                catalog = format switch
                {
                    "catalog" => PriceCatalog.Parse(new MemoryStream(body.ToArray())),
                    "genai-prices" => CatalogBuilder.Build(PriceOverlay.Shipped(), document.RootElement, listed, null, null).Catalog,
                    _ => CatalogBuilder.Build(PriceOverlay.Shipped(), null, null, document.RootElement, listed).Catalog,
                };
            }
            catch (PriceCatalogException ex)
            {
                return Invalid("body", ex.Message);
            }
            catch (Exception ex) when (ex is InvalidOperationException or KeyNotFoundException or FormatException or JsonException)
            {
                // A public list whose shape is not what its format promises (a field of the wrong kind).
                return Invalid("body", $"Not a price list this API reads: {ex.Message}");
            }

            var errors = PriceValidation.Errors(catalog);
            if (errors.Count > 0)
            {
                return new Result(null, false, errors);
            }

            var (version, stored) = await store.StoreAsync(catalog, $"{source} ({format})", clock.GetUtcNow());
            return new Result(version, stored, errors);
        }
    }

    private static Result Invalid(string field, string message) => new(null, false, new() { [field] = [message] });
}
