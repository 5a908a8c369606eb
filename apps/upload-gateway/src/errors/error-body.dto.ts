import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { DomainErrorCode } from '@app/domain';

export class FieldProblemView {
  @ApiProperty({ example: 'size' }) field!: string;
  @ApiProperty({ example: 'size must not be less than 1' }) message!: string;
}

/** What every error answers (HttpErrorFilter). */
export class ErrorBody {
  @ApiProperty({ example: 400 }) statusCode!: number;
  @ApiProperty({ example: 'Bad Request' }) error!: string;
  @ApiProperty() message!: string;
  @ApiPropertyOptional({ enum: DomainErrorCode, enumName: 'DomainErrorCode' }) code?: DomainErrorCode;
  @ApiPropertyOptional({ type: [FieldProblemView], description: 'on 400: each offending field' }) details?: FieldProblemView[];
}
