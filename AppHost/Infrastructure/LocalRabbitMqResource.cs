namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>Debian's rabbitmq-server run as a local process. The built-in <c>guest</c> user only accepts
/// loopback connections, which is all a local process needs.</summary>
public sealed class LocalRabbitMqResource(string name, string workingDirectory)
    : ExecutableResource(name, LocalInfrastructure.RabbitMqServer, workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";

    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    public ReferenceExpression ConnectionStringExpression =>
        ReferenceExpression.Create($"amqp://guest:guest@{PrimaryEndpoint.Property(EndpointProperty.HostAndPort)}");
}
