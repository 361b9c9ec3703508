namespace LlmCostTracker.AppHost.Infrastructure;

/// <summary>Debian's PostgreSQL server run as a local process, with one database (<see cref="Database"/>). Hands
/// services the connection string the container integration's database resource would
/// (<c>Host=...;Port=...;Username=postgres;Password=...;Database=...</c>).</summary>
public sealed class LocalPostgresResource(string name, string command, string workingDirectory, ParameterResource password, string database)
    : ExecutableResource(name, command, workingDirectory), IResourceWithConnectionString
{
    public const string EndpointName = "tcp";
    public const string UserName = "postgres";

    public EndpointReference PrimaryEndpoint => new(this, EndpointName);

    public ParameterResource Password { get; } = password;

    public string Database { get; } = database;

    /// <summary>The cluster's data folder (initdb's), inside the run's data folder.</summary>
    public string DataDirectory => Path.Combine(WorkingDirectory, "data");

    public ReferenceExpression ConnectionStringExpression => ReferenceExpression.Create(
        $"Host=127.0.0.1;Port={PrimaryEndpoint.Property(EndpointProperty.Port)};Username={UserName};Password={Password};Database={Database}");
}
