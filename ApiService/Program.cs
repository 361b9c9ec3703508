using LlmCostTracker.ApiService.Apis;
using LlmCostTracker.ApiService.Extensions;
using LlmCostTracker.ApiService.Otlp;


var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddApplicationServices();

var app = builder.Build();

app.UseTraceResponse();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();

app.MapApiDocumentation();
app.MapUsageApi();
app.MapBudgetHoldsApi();
app.MapAdminApi();
app.MapPricingApi();
app.MapRepricingApi();
app.MapOtlpHttpApi();
app.MapGrpcService<OtlpTraceService>();
app.MapDefaultEndpoints();

app.Run();
