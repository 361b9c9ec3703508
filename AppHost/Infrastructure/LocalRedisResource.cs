namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>Debian's redis-server run as a local process. Hands services the same connection string as the
/// container integration (<c>host:port,password=...</c>); as the first node of a cluster it also lists the other
/// nodes (<c>host:a,host:b,host:c,password=...</c>), from which StackExchange.Redis discovers the cluster.</summary>
public sealed class LocalRedisResource(string name, string workingDirectory, ParameterResource password)
    : ExecutableResource(name, "redis-server", workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    public ParameterResource Password { get; } = password;

    /// <summary>The cluster's other nodes, when this is a cluster's first node.</summary>
    public List<LocalRedisResource> Peers { get; } = [];

    public ReferenceExpression ConnectionStringExpression
    {
        get
        {
            if (Peers.Count == 0)
            {
                return ReferenceExpression.Create($"{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)},password={Password}");
            }

            // Cluster nodes announce themselves by the address they bind (127.0.0.1): the same address here, or
            // clients would hold each node twice, once by name and once as announced.
            var expression = new ReferenceExpressionBuilder();
            expression.Append($"127.0.0.1:{PrimaryEndpoint.Property(EndpointProperty.Port)}");
            foreach (var peer in Peers)
            {
                expression.Append($",127.0.0.1:{peer.PrimaryEndpoint.Property(EndpointProperty.Port)}");
            }

            expression.Append($",password={Password}");
            return expression.Build();
        }
    }
}
