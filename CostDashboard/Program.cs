using LlmCostTracker.Contracts;
using LlmCostTracker.CostDashboard;
using LlmCostTracker.CostDashboard.Api;
using LlmCostTracker.CostDashboard.Components;
using LlmCostTracker.CostDashboard.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.Extensions.Options;
using Radzen;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();

builder.Services.AddOptions<DashboardOptions>()
    .BindConfiguration(DashboardOptions.SectionName)
    .ValidateDataAnnotations()
    .ValidateOnStart();
// The tag dimensions the "By tag" pages offer (the AppHost hands the dashboard the services' Attribution section).
builder.Services.AddOptions<AttributionOptions>()
    .BindConfiguration(AttributionOptions.SectionName)
    .PostConfigure(o => o.Normalize())
    .ValidateDataAnnotations();
builder.Services.AddSingleton<AdminKey>();
builder.Services.AddSingleton(TimeProvider.System);

builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddRadzenComponents();

builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme).AddCookie(options =>
{
    // The session is this cookie only: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends
    // it, so no other site can post a change or open a circuit as the admin), a fixed lifetime.
    options.Cookie.Name = "llmcost-dashboard";
    options.Cookie.HttpOnly = true;
    options.Cookie.SameSite = SameSiteMode.Strict;
    options.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
    options.SlidingExpiration = false;
    options.LoginPath = "/signin";
    options.AccessDeniedPath = "/signin";
});
builder.Services.AddOptions<CookieAuthenticationOptions>(CookieAuthenticationDefaults.AuthenticationScheme)
    .Configure<IOptions<DashboardOptions>>((cookie, dashboard) => cookie.ExpireTimeSpan = dashboard.Value.SessionLifetime);
builder.Services.AddAuthorization();
builder.Services.AddCascadingAuthenticationState();

builder.Services.AddHttpClient<AdminApiClient>((sp, http) =>
{
    http.BaseAddress = sp.GetRequiredService<IOptions<DashboardOptions>>().Value.ApiBaseAddress;
    http.DefaultRequestHeaders.Add(AdminApiClient.AdminKeyHeader, sp.GetRequiredService<AdminKey>().Value);
});


var app = builder.Build();

if (!app.Environment.IsDevelopment())
{
    app.UseExceptionHandler("/error", createScopeForErrors: true);
}

app.UseSecurityHeaders();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();

app.MapStaticAssets();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();

// Sign-out is a form post with the antiforgery token (a link or GET could be triggered by another site).
app.MapPost("/signout", async (HttpContext context, IAntiforgery antiforgery) =>
{
    if (!await antiforgery.IsRequestValidAsync(context))
    {
        return Results.BadRequest();
    }

    await context.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
    return Results.Redirect("/signin");
}).RequireAuthorization().DisableAntiforgery();

app.MapDefaultEndpoints();
app.Run();
