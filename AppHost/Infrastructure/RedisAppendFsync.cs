namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary><c>Infrastructure:RedisAppendFsync</c>, for the local redis-server processes: <c>always</c> (the default:
/// Redis answers a write only once it is on disk, so an event the worker has acknowledged to the broker survives a
/// power cut) or <c>everysec</c> (the file is flushed once a second: a power cut or a killed VM can lose the last
/// second's acknowledged writes). README, "Guarantees".</summary>
internal static class RedisAppendFsync
{
    public const string ConfigurationKey = "Infrastructure:RedisAppendFsync";

    public static string Resolve(IConfiguration configuration)
    {
        var configured = configuration[ConfigurationKey];
        if (string.IsNullOrWhiteSpace(configured))
        {
            return "always";
        }

        return configured.Trim().ToLowerInvariant() switch
        {
            "always" => "always",
            "everysec" => "everysec",
            _ => throw new DistributedApplicationException(
                $"{ConfigurationKey} is '{configured}'; expected 'always' (each write on disk before Redis answers) or 'everysec'."),
        };
    }
}
