// The floor under the API's CPU a request (#36): Kestrel answering the ingestion route with the API's 202 and nothing
// else (no authentication, validation, JSON, publish, logging, metrics or spans), on the API's runtime settings. The
// body is read to its end, as the API reads it. bench/kestrel-floor.sh loads it with wrk as bench/otlp-wrk.sh loads the
// API, so that the two CPU figures a request compare: what the API spends above this is what its own work costs.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var app = builder.Build();
// The API's answer to one event, its id, in a body sent with its length.
var answer = """{"eventId":"01a24ded707b7aee9e22df459e8798ea"}"""u8.ToArray();
app.MapPost("/api/v1/llm-usage", async (HttpContext context) =>
{
    var body = context.Request.BodyReader;
    while (true)
    {
        var read = await body.ReadAsync(context.RequestAborted);
        body.AdvanceTo(read.Buffer.End);
        if (read.IsCompleted)
        {
            break;
        }
    }

    context.Response.StatusCode = StatusCodes.Status202Accepted;
    context.Response.ContentType = "application/json";
    context.Response.ContentLength = answer.Length;
    await context.Response.Body.WriteAsync(answer, context.RequestAborted);
});
app.Run();
