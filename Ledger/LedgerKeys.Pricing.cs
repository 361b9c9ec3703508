namespace LlmCostTracker.Ledger;

// The pricing keys: one of each for the whole ledger, in the {llmcost} slot (not a user's bucket).
public sealed partial class LedgerKeys
{
    /// <summary>Hash: model id → that id's price overrides set through the admin API (a JSON array of entries).</summary>
    public const string PricingOverridesKey = "{llmcost}:pricing:overrides";

    /// <summary>String: a counter raised by every change of the overrides, so workers see a change with one GET.</summary>
    public const string PricingVersionKey = "{llmcost}:pricing:version";

    /// <summary>String: the id of the catalog version in force; absent means the catalog shipped in the build.</summary>
    public const string PricingCatalogCurrentKey = "{llmcost}:pricing:catalog:current";

    /// <summary>Hash: catalog version id → its description (JSON: source, checked date, entry count, when stored).</summary>
    public const string PricingCatalogVersionsKey = "{llmcost}:pricing:catalog:versions";

    /// <summary>String: the last catalog version id given out.</summary>
    public const string PricingCatalogSequenceKey = "{llmcost}:pricing:catalog:seq";

    /// <summary>String: one stored catalog version (the project's JSON form). Versions are never changed, only added.</summary>
    public static string PricingCatalog(long version) => $"{{llmcost}}:pricing:catalog:{version}";

    /// <summary>Hash: worker instance → <c>version|unixSeconds</c>, the overrides version it prices with and when it
    /// last checked.</summary>
    public const string PricingWorkersKey = "{llmcost}:pricing:workers";

    /// <summary>Hash: the month's model ids priced at the fallback, <c>&lt;model&gt;|requests</c> and
    /// <c>&lt;model&gt;|cost</c> (micro-USD).</summary>
    public static string UnknownModels(string month) => $"{{llmcost}}:pricing:unknown:{month}";
}
