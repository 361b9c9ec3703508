namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary><c>Infrastructure:RedisShards</c>: 1 (one server, the default) or 3 to 6 (a Redis Cluster of that many
/// masters; Redis Cluster needs at least three).</summary>
internal static class RedisShards
{
    public const string ConfigurationKey = "Infrastructure:RedisShards";

    public static int Resolve(IConfiguration configuration)
    {
        var configured = configuration[ConfigurationKey];
        if (string.IsNullOrWhiteSpace(configured))
        {
            return 1;
        }

        if (!int.TryParse(configured, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var shards)
            || shards is not (1 or (>= 3 and <= 6)))
        {
            throw new DistributedApplicationException($"{ConfigurationKey} is '{configured}'; expected 1, or 3 to 6 for a Redis Cluster.");
        }

        return shards;
    }

    public static void RequireSingle(int shards)
    {
        if (shards != 1)
        {
            throw new DistributedApplicationException(
                $"{ConfigurationKey}={shards} runs a Redis Cluster of local processes, which container mode does not start: " +
                "set Infrastructure:Mode=executable (Debian's redis-server) or Infrastructure:RedisShards=1.");
        }
    }
}
