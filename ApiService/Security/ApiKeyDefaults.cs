namespace LlmCostTracker.ApiService.Security;

public static class ApiKeyDefaults
{
    public const string IngestScheme = "IngestKey";
    public const string AdminScheme = "AdminKey";
    public const string IngestPolicy = "ingest";
    public const string AdminPolicy = "admin";
    public const string IngestHeader = "X-Api-Key";
    public const string AdminHeader = "X-Admin-Key";
}
